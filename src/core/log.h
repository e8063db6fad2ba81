/*
 * Logging to stderr. Each line is written with one locked write and prefixed by the target
 * name when there is one, so lines from worker threads never interleave. Thread-safe.
 */
#ifndef PF_CORE_LOG_H
#define PF_CORE_LOG_H

/* PF_LOG_NOTICE: what a command changes, said as it does it ("recording ..."): shown unless -q,
 * with no level word in front. */
typedef enum { PF_LOG_ERROR, PF_LOG_NOTICE, PF_LOG_WARN, PF_LOG_INFO, PF_LOG_DEBUG } PfLogLevel;

/* Lines above this level are dropped. Default PF_LOG_WARN. Set before threads start. */
void pf_log_set_level(PfLogLevel level);
PfLogLevel pf_log_level(void);

/* target may be NULL. */
void pf_log(PfLogLevel level, const char *target, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Draw the live progress line (no newline) on stderr; a later log line first erases it. An
 * empty line erases it for good. */
void pf_log_progress(const char *line);

#endif
