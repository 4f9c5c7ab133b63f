// faultline-cache's entry point, kept in the library so tests can run it in-process.
#pragma once

namespace fl::cache {

// Parses the command line, runs the node until it is stopped, returns the exit code.
int cache_main(int argc, char** argv);

}  // namespace fl::cache
