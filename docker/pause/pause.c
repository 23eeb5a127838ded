/*
 * The first process of every pod sandbox: it holds the pod's namespaces open and does nothing
 * else. It stops, with status 0, on SIGINT or SIGTERM. When the pod shares one PID namespace it
 * is PID 1 there, so it reaps the orphans the kernel hands to it; otherwise they stay zombies.
 *
 * Build: gcc -Os -static -o pause pause.c
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int signo) {
  (void)signo;
  _exit(0);
}

static void reap(int signo) {
  (void)signo;
  int saved = errno; /* a handler must not change errno under the code it interrupted */
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved;
}

static int on(int signo, void (*handler)(int), int flags) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = handler;
  action.sa_flags = flags;
  sigemptyset(&action.sa_mask);
  return sigaction(signo, &action, NULL);
}

int main(void) {
  /* Handlers, not SIG_DFL: as PID 1 the kernel drops any signal left at its default action. */
  if (on(SIGINT, stop, 0) || on(SIGTERM, stop, 0) ||
      on(SIGCHLD, reap, SA_NOCLDSTOP | SA_RESTART)) {
    static const char message[] = "pause: cannot install signal handlers\n";
    (void)!write(STDERR_FILENO, message, sizeof message - 1);
    return 1;
  }
  for (;;) pause();
}
