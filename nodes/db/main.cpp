#include "nodes/db/db_main.h"

int main(int argc, char** argv) { return fl::db::db_main(argc, argv); }
