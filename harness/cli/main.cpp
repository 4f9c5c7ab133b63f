#include "harness/cli/commands.h"

int main(int argc, char** argv) { return fl::cli::main(argc, argv); }
