/*
 * explain_cmd.h - the `explain` command (usage: cli_explain_usage).
 * Exit codes: 0; 2 for an unknown instruction name, a FILE that cannot
 * be read, code that does not compile or a FUNCTION it does not define.
 */
#ifndef OPPROF_EXPLAIN_CMD_H
#define OPPROF_EXPLAIN_CMD_H

int cmd_explain(int argc, char **argv);

#endif
