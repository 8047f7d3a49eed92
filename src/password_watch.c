#include "password_watch.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "config.h"
#include "log.h"

/* What a file looked like when it was last read; all zero: unreadable. */
struct password_file_id {
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime, ctime;
};

struct password_watch_entry {
        const char *dealer; /* borrowed from the configuration */
        const char *path;   /* borrowed */
        struct password_file_id id;
        /* SHA-256 of the last password read: tells a touched file from a
         * changed one without keeping another copy of the secret */
        unsigned char digest[SHA256_DIGEST_LENGTH];
};

struct password_watch {
        struct password_watch_entry *entries;
        size_t len;
};

static void password_file_identify(const char *path,
                                   struct password_file_id *id)
{
        struct stat st;
        memset(id, 0, sizeof(*id));
        if (stat(path, &st) != 0)
                return;
        id->dev = st.st_dev;
        id->ino = st.st_ino;
        id->size = st.st_size;
        id->mtime = st.st_mtim;
        id->ctime = st.st_ctim;
}

static bool password_file_same(const struct password_file_id *a,
                               const struct password_file_id *b)
{
        return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
               a->mtime.tv_sec == b->mtime.tv_sec &&
               a->mtime.tv_nsec == b->mtime.tv_nsec &&
               a->ctime.tv_sec == b->ctime.tv_sec &&
               a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static void password_digest(const char *password,
                            unsigned char out[SHA256_DIGEST_LENGTH])
{
        SHA256((const unsigned char *)password, strlen(password), out);
}

struct password_watch *password_watch_create(const struct config *conf)
{
        struct password_watch *w = calloc(1, sizeof(*w));
        if (!w)
                return NULL;
        w->entries = calloc(conf->dealers_cnt ? conf->dealers_cnt : 1,
                            sizeof(*w->entries));
        if (!w->entries) {
                free(w);
                return NULL;
        }
        for (size_t i = 0; i < conf->dealers_cnt; i++) {
                const struct config_dealer *d = &conf->dealers[i];
                if (!d->password_file || !d->password_file[0])
                        continue;
                struct password_watch_entry *e = &w->entries[w->len++];
                e->dealer = d->name;
                e->path = d->password_file;
                /* The configuration read it at start-up. */
                password_file_identify(e->path, &e->id);
                password_digest(d->password, e->digest);
        }
        return w;
}

void password_watch_destroy(struct password_watch *w)
{
        if (!w)
                return;
        free(w->entries);
        free(w);
}

size_t password_watch_check(struct password_watch *w, bool force,
                            password_watch_fn fn, void *arg)
{
        size_t changed = 0;
        for (size_t i = 0; w && i < w->len; i++) {
                struct password_watch_entry *e = &w->entries[i];
                struct password_file_id id;
                password_file_identify(e->path, &id);
                if (!force && password_file_same(&id, &e->id))
                        continue;
                /* Remembered before reading: a bad file is reported once
                 * per change, not at every check. */
                e->id = id;
                char msg[512];
                char *password = NULL;
                if (config_read_secret_file(e->path, &password, msg,
                                            sizeof(msg))) {
                        log_error("password file unusable, keeping the "
                                  "current password",
                                  "\"dealer\":%s,\"error\":%s",
                                  log_json_escape(e->dealer),
                                  log_json_escape(msg));
                        continue;
                }
                unsigned char digest[SHA256_DIGEST_LENGTH];
                password_digest(password, digest);
                if (CRYPTO_memcmp(digest, e->digest, sizeof(digest)) == 0) {
                        log_debug("password file re-read, unchanged",
                                  "\"dealer\":%s", log_json_escape(e->dealer));
                } else if (fn(e->dealer, password, arg) == 0) {
                        memcpy(e->digest, digest, sizeof(digest));
                        changed++;
                        log_info("password file changed: the dealer's "
                                 "requests use the new password",
                                 "\"dealer\":%s,\"path\":%s",
                                 log_json_escape(e->dealer),
                                 log_json_escape(e->path));
                } else {
                        memset(&e->id, 0, sizeof(e->id)); /* try again */
                        log_error("could not take the new password (out of "
                                  "memory), keeping the current one",
                                  "\"dealer\":%s", log_json_escape(e->dealer));
                }
                explicit_bzero(password, strlen(password));
                free(password);
        }
        return changed;
}
