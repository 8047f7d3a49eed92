/*
 * sim_map: a string-keyed hash map (separate chaining, power-of-two
 * table). Not thread-safe: every user guards its map with its own lock.
 */
#ifndef SIM_MAP_H
#define SIM_MAP_H

#include <stddef.h>

struct sim_map;

/* Creates an empty map; NULL on allocation failure. */
struct sim_map *sim_map_create(void);

/*
 * Frees the map and its key copies; free_value (may be NULL) is called
 * on every value first. Accepts NULL.
 */
void sim_map_destroy(struct sim_map *m, void (*free_value)(void *));

/* Removes every entry, as destroy does, but keeps the map usable. */
void sim_map_clear(struct sim_map *m, void (*free_value)(void *));

/* Returns the value stored under key, or NULL. */
void *sim_map_get(const struct sim_map *m, const char *key);

/*
 * Stores value under a copy of key, replacing (not freeing) a previous
 * value. Returns 0, or -1 on allocation failure.
 */
int sim_map_put(struct sim_map *m, const char *key, void *value);

/* Removes key and returns its value (NULL if absent). */
void *sim_map_remove(struct sim_map *m, const char *key);

/* Number of entries. */
size_t sim_map_count(const struct sim_map *m);

/* Calls fn on every entry in table order; fn must not modify the map. */
void sim_map_foreach(const struct sim_map *m,
                     void (*fn)(const char *key, void *value, void *arg),
                     void *arg);

#endif
