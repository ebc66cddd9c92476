#include "cli/commands.h"

int main(int argc, char** argv) { return depai::cli::Run(argc, argv); }
