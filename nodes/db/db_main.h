// The faultline-db program: command line, wiring of store, commands and server, and exit codes
// (0 clean stop, 3 bad flags or could not listen). main.cpp only calls db_main.
#pragma once

namespace fl::db {

int db_main(int argc, char** argv);

}  // namespace fl::db
