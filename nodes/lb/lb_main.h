// The faultline-lb program: command line, wiring of server and load balancer, and exit codes
// (0 clean stop, 3 bad flags or could not listen). main.cpp only calls lb_main.
#pragma once

namespace fl::lb {

int lb_main(int argc, char** argv);

}  // namespace fl::lb
