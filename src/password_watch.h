/* Rotating secrets without a restart: the password files of the dealers
 * (moka.password_file, dealers[].password_file) are re-read when they
 * change and on SIGHUP.
 *
 * Kubernetes updates a mounted Secret by swapping a symlink, so a file is
 * watched by its identity as stat() sees it through the path (device,
 * inode, size, modification and change times), polled every few seconds
 * from the bridge's loop: no inotify descriptor per directory, and a
 * swapped symlink and an edit in place both show. An unreadable or empty
 * new file keeps the old secret and logs an error, once per change. */
#ifndef MOKA_BRIDGE_PASSWORD_WATCH_H
#define MOKA_BRIDGE_PASSWORD_WATCH_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct password_watch;

/* Called with a dealer's name and its new password (a C string the
 * callee copies; wiped after the call). Returns 0, or -1 when it could not
 * take it (the file is read again at the next check). */
typedef int (*password_watch_fn)(const char *dealer, const char *password,
                                 void *arg);

/* Watches every dealer of `conf` that has a password_file (none: an empty
 * watch). Returns NULL when out of memory. */
struct password_watch *password_watch_create(const struct config *conf);

/* Accepts NULL. */
void password_watch_destroy(struct password_watch *w);

/* Re-reads the files whose identity changed since the last check, or
 * every file when `force` (SIGHUP), and calls `fn` for each whose content
 * differs from the last one read. Returns how many passwords changed. */
size_t password_watch_check(struct password_watch *w, bool force,
                            password_watch_fn fn, void *arg);

#endif
