/* Line-atomic logging to stderr. */
#include "core/log.h"

#include "core/buf.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;
static PfLogLevel log_level = PF_LOG_WARN;

void pf_log_set_level(PfLogLevel level)
{
    log_level = level;
}

PfLogLevel pf_log_level(void)
{
    return log_level;
}

static bool progress_visible; /* guarded by log_mutex */

static void write_all(const char *s, size_t n)
{
    ssize_t w = write(STDERR_FILENO, s, n);
    (void)w;
}

void pf_log_progress(const char *line)
{
    static const char erase[] = "\r\033[K";
    pthread_mutex_lock(&log_mutex);
    write_all(erase, sizeof erase - 1);
    write_all(line, strlen(line));
    progress_visible = *line != '\0';
    pthread_mutex_unlock(&log_mutex);
}

void pf_log(PfLogLevel level, const char *target, const char *fmt, ...)
{
    static const char *names[] = {"error: ", "", "warning: ", "info: ", "debug: "};
    if (level > log_level)
        return;
    char line[2048];
    int n = target ? snprintf(line, sizeof line, "pgfleet: %s%s: ", names[level], target)
                   : snprintf(line, sizeof line, "pgfleet: %s", names[level]);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    pthread_mutex_lock(&log_mutex);
    if (progress_visible) {
        write_all("\r\033[K", 4);
        progress_visible = false;
    }
    write_all(line, (size_t)n);
    pthread_mutex_unlock(&log_mutex);
}
