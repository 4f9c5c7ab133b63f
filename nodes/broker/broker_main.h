// The faultline-broker program: command line, recovery, wiring of broker and server, and exit
// codes (0 clean stop, 3 bad flags, unreadable data or could not listen). main.cpp only calls
// broker_main.
#pragma once

namespace fl::broker {

int broker_main(int argc, char** argv);

}  // namespace fl::broker
