/* tee.h — llm-tee's shared types: configuration, inputs, the day files,
 * the stdout copy, maintenance (compression, retention). */
#ifndef LLM_TEE_H
#define LLM_TEE_H
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include "buf.h"
#include "crypt.h"
#include "files.h"
#include "tz.h"

enum fsync_mode { FS_ALWAYS, FS_INTERVAL, FS_NEVER };
enum compress_kind { COMP_NONE, COMP_ZSTD, COMP_GZIP };

typedef struct tee_conf {
    const char *dir;
    const char **listen; size_t nlisten;
    int use_stdin;            /* read stdin (no listener, or --stdin) */
    int fsync_mode; long fsync_ms;
    const char *tz;           /* NULL: UTC */
    size_t max_line;
    long long rotate_size;    /* 0: no rotation by size */
    int compress;
    int keep_days;            /* 0: keep all */
    long long max_total;      /* 0: no limit */
    const char *key_file;
    int copy;                 /* -o - */
    size_t copy_buffer;
    long drain_ms;
    long close_idle_ms;
    long maint_ms;
    int quiet;
} tee_conf_t;

/* an input: stdin or one writer's connection */
typedef struct conn {
    int fd;
    int is_stdin;
    int always;               /* not pollable (a regular file): read every turn */
    int restore_fl;           /* stdin's file status flags before O_NONBLOCK, or -1 */
    char name[32];
    char *buf; size_t size, start, end, scan;
    int skipping;             /* dropping the rest of an over-long line */
    size_t skip_total;        /* its length so far */
    char *sample; size_t sample_len; /* its start, for the reject event */
    int eof, closing;         /* read side done; we said goodbye (FIN) */
    uint64_t lines, rejects;
    struct conn *next, *prev;
} conn_t;

/* an open file of the record: a day's current file or its rejects */
typedef struct dayfile {
    day_t day;
    int rejects;
    int fd;
    char *path;
    uint64_t size;            /* bytes on disk (what we wrote) */
    buf_t out;                /* accepted lines not yet on disk */
    buf_t enc;                /* ciphertext not yet on disk */
    crypt_writer_t *cw;
    int recovered;            /* the next session says it repaired the last */
    int dirty;                /* written since the last fsync */
    int64_t last_use;         /* monotonic µs */
    struct dayfile *next;
} dayfile_t;

typedef struct tee {
    tee_conf_t *c;
    int epfd, sigfd, lockfd;
    int *lfds; size_t nlfds; int *lfd_owned; /* listening sockets */
    conn_t *conns; size_t nconns;
    dayfile_t *files; size_t nfiles;
    crypt_keys_t *keys;
    /* day of a timestamp: the --tz zone, the bounds of the last day seen */
    tz_t zone;
    int64_t day_lo, day_hi; day_t day_cached;
    /* copy to stdout */
    buf_t copy_wait;          /* accepted this turn, copied once on disk */
    buf_t copy;               /* bounded: what stdout has not taken yet */
    int copy_dead, copy_pollable, copy_watched;
    uint64_t copy_dropped;
    /* counters */
    uint64_t accepted, rejected, no_ts, partial_dropped;
    int64_t now;              /* monotonic µs at the start of this loop turn */
    int64_t next_fsync, next_tick, next_maint, retry_at, warn_at;
    unsigned warn_burst; uint64_t warn_skipped;
    int write_failing;        /* a write failed: inputs paused, retrying */
    /* maintenance */
    pid_t child; char *child_src;
    char **cq; size_t ncq, cq_cap;     /* files to compress, in order */
    int stopping; int64_t drain_deadline;
    int hup;
} tee_t;

/* main.c */
extern const char *progname;
void tee_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tee_warn_limited(tee_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* day.c: the calendar day of a time, in UTC or the --tz zone (lib/tz.c) */
int day_setup(tee_t *t, const char *tz, char *err, size_t errlen);
day_t day_of(tee_t *t, int64_t wall_us);

/* input.c */
int input_listen(tee_t *t, const char *spec, char *err, size_t errlen);
int input_systemd(tee_t *t);
conn_t *input_add(tee_t *t, int fd, int is_stdin, const char *name);
void input_accept(tee_t *t, int lfd);
/* read what fd has; 0 ok, 1 the input is done (removed) */
int input_read(tee_t *t, conn_t *c);
void input_close(tee_t *t, conn_t *c);
void input_stop_listening(tee_t *t);
void input_goodbye(tee_t *t);
void input_pause(tee_t *t, int paused);

/* route.c: one line in */
void route_line(tee_t *t, conn_t *c, const char *line, size_t len);
void route_reject(tee_t *t, const char *source, const char *reason, const char *line, size_t len,
                  size_t full_len, day_t day);

/* store.c: the day files */
dayfile_t *store_get(tee_t *t, day_t day, int rejects);
int store_append(tee_t *t, dayfile_t *f, const char *line, size_t len); /* + '\n' */
int store_flush_all(tee_t *t);            /* 0 all on disk, -1 some held back */
int store_sync_all(tee_t *t);
void store_close(tee_t *t, dayfile_t *f);
void store_close_all(tee_t *t);
void store_tick(tee_t *t, int64_t now_mono);
int store_lock_dir(tee_t *t, char *err, size_t errlen);
int store_mkdirs(const char *dir, day_t d, char *err, size_t errlen);
int store_is_open(tee_t *t, const char *path);
uint64_t store_pending(tee_t *t);
int fsync_dir_of(const char *path);

/* copy.c: -o - */
void copy_setup(tee_t *t);
void copy_commit(tee_t *t);
void copy_flush(tee_t *t);

/* maint.c: sealing past days, compression, retention */
void maint_run(tee_t *t);                 /* seal, queue, start a compression, retain */
void maint_child_done(tee_t *t);
void maint_queue(tee_t *t, const char *path);
int maint_prune(const char *dir, tee_t *t, int keep_days, long long max_total, int dry, char *err, size_t errlen);
void maint_stop(tee_t *t);
int maint_compress_file(const char *src, int kind, const crypt_keys_t *k, const char *key_file,
                        size_t max_line, char *err, size_t errlen);

/* cat.c: --cat */
int cat_main(const char *dir, const char *day, const char *key_file, size_t max_line, char **files, int nfiles);

#endif
