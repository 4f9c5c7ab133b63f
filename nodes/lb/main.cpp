#include "nodes/lb/lb_main.h"

int main(int argc, char** argv) { return fl::lb::lb_main(argc, argv); }
