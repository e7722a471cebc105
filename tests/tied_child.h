/*
 * tied_child.h - fork() for the child processes of a test that must not
 * outlive it. A crash, a failed check whose cleanup never runs, or
 * Criterion's timeout ends the test's process; without this its children
 * (a `weft serve` holding ports and files, a helper blocked on a FIFO)
 * stay behind as orphans, hold ctest's output pipe open and pile up over
 * runs. Linux's parent-death signal (prctl(2), PR_SET_PDEATHSIG) is sent
 * when the *thread* that forked ends: fork from the test's own thread
 * (Criterion runs init, the test and fini on the worker's main thread),
 * never from a thread that ends before the child should. The setting
 * survives exec, but a change of user or group id clears it.
 */
#ifndef WEFT_TESTS_TIED_CHILD_H
#define WEFT_TESTS_TIED_CHILD_H

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

/* fork(), the child getting signal sig once the calling thread ends:
 * SIGTERM for a weft program, which then stops as it would by hand;
 * SIGKILL for a helper that runs the test's own code, or a process a test
 * may stop (SIGSTOP), in which a SIGTERM would wait for ever. Returns what
 * fork returns. */
__attribute__((unused)) static pid_t fork_tied(int sig)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    /* a parent that died before the prctl sends no signal: end at once */
    if (pid == 0 && (prctl(PR_SET_PDEATHSIG, sig) != 0 || getppid() != parent))
        _exit(127);
    return pid;
}

#endif
