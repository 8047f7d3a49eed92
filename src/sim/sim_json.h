/*
 * sim_json: json-c helpers shared by the request parser, the fixture
 * loader and the admin API. Moka is lenient about types (its own samples
 * send "Gender": "2" and "DealerCustomerId": ""), so the readers here
 * are too.
 */
#ifndef SIM_JSON_H
#define SIM_JSON_H

#include <stddef.h>

#include <json-c/json.h>

enum sim_json_rc {
        SIM_JSON_BAD = -1,      /* present but of a type we cannot use */
        SIM_JSON_UNSET = 0,     /* absent, null or "" */
        SIM_JSON_OK = 1,
};

/*
 * Parses exactly one JSON value from s[0..len) (trailing white space is
 * allowed). On error returns NULL and writes "line N: reason" to err.
 * The caller owns the result (json_object_put).
 */
struct json_object *sim_json_parse(const char *s, size_t len, char *err,
                                   size_t errlen);

/* Reads an integer given as a number or a numeric string. */
enum sim_json_rc sim_json_get_int(struct json_object *o, long long *out);

/*
 * Reads a string; numbers are accepted and read as their text. *out
 * points into o and lives as long as o does.
 */
enum sim_json_rc sim_json_get_str(struct json_object *o, const char **out);

/* Reads a number (or numeric string) as a double. */
enum sim_json_rc sim_json_get_double(struct json_object *o, double *out);

/* Reads a boolean (true/false, 0/1). */
enum sim_json_rc sim_json_get_bool(struct json_object *o, int *out);

#endif
