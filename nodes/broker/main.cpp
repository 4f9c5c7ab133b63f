#include "nodes/broker/broker_main.h"

int main(int argc, char** argv) { return fl::broker::broker_main(argc, argv); }
