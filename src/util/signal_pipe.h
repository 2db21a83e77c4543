#ifndef KRONOS_SIGNAL_PIPE_H
#define KRONOS_SIGNAL_PIPE_H

/*
 * Stop signals as bytes on a pipe. Libraries may start threads before main() runs (OpenBLAS does,
 * from its constructor), so signal masks set in main() cannot steer a process-directed signal to
 * one thread. Instead a handler is installed for each signal: whatever thread the kernel picks,
 * the handler only writes the signal number to a non-blocking pipe (async-signal-safe), and the
 * thread that called signal_pipe_wait() reads it.
 *
 * signal_pipe_install() also blocks the signals in the calling thread, so threads it creates
 * afterwards inherit the block and are never interrupted by them; signal_pipe_wait() unblocks
 * them only while it waits.
 */

/* Installs the handler for the n signals in sigs (SA_RESTART). 0, or -1 with errno set. */
int signal_pipe_install(const int *sigs, int n);

/* Waits up to timeout_ms (< 0: forever) for one of the signals. Returns its number, or 0 when
 * the time passed first. Each delivered signal is returned once. */
int signal_pipe_wait(int timeout_ms);

#endif
