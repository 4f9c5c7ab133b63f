#include "nodes/cache/cache_main.h"

int main(int argc, char** argv) { return fl::cache::cache_main(argc, argv); }
