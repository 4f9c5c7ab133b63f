// The `faultline` subcommands. Each takes its own arguments (argv[0] is the subcommand name) and
// returns a process exit code (common/exit_codes.h). They parse options and call into the
// harness libraries; the logic lives there.
#pragma once

namespace fl::cli {

int main(int argc, char** argv);

int validate_main(int argc, char** argv);
int up_main(int argc, char** argv);
int run_main(int argc, char** argv);
int check_main(int argc, char** argv);
int heal_main(int argc, char** argv);
int proxy_main(int argc, char** argv);
int ctl_main(int argc, char** argv);
int compare_main(int argc, char** argv);
int report_main(int argc, char** argv);
int sweep_main(int argc, char** argv);

}  // namespace fl::cli
