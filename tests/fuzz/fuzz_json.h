/* Shared by the libFuzzer targets that check JSON text against json-c:
 * json-c is the reference reader (what a consumer of a reply would see).
 * Header-only, each target is one translation unit. */
#ifndef MOKA_BRIDGE_FUZZ_JSON_H
#define MOKA_BRIDGE_FUZZ_JSON_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "fuzz_check.h"
#include "json_scan.h"
#include "redact.h"

/* json-c's strict reading of text[0..len) as one whole document with a
 * depth limit of `max_depth` (fuzz_json_parse_strict: one past ours, so
 * depth is json_scan's business). *ok tells
 * whether json-c accepted it: a NULL result is also JSON null. The text
 * is copied with a NUL after it, which json-c needs to end a number at
 * the end of the input; a NUL inside the text makes json-c stop early,
 * and then it is not accepted. */
static inline json_object *fuzz_json_parse_strict_depth(const char *text,
                                                        size_t len,
                                                        int max_depth,
                                                        bool *ok)
{
        char *copy = malloc(len + 1);
        FUZZ_CHECK(copy, "out of memory");
        memcpy(copy, text, len);
        copy[len] = '\0';
        json_tokener *tok = json_tokener_new_ex(max_depth);
        FUZZ_CHECK(tok, "out of memory");
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        json_object *o = json_tokener_parse_ex(tok, copy, (int)len + 1);
        *ok = json_tokener_get_error(tok) == json_tokener_success &&
              json_tokener_get_parse_end(tok) == len;
        if (!*ok) {
                json_object_put(o);
                o = NULL;
        }
        json_tokener_free(tok);
        free(copy);
        return o;
}

static inline json_object *fuzz_json_parse_strict(const char *text,
                                                  size_t len, bool *ok)
{
        return fuzz_json_parse_strict_depth(text, len, JSON_SCAN_MAX_DEPTH + 1,
                                            ok);
}

/* The reference redaction: json-c's tree, the rule the bridge applied
 * before the scanner (redact_password_fields, removed). */
static inline void fuzz_json_tree_redact(json_object *obj)
{
        if (json_object_is_type(obj, json_type_array)) {
                size_t n = json_object_array_length(obj);
                for (size_t i = 0; i < n; i++)
                        fuzz_json_tree_redact(
                                json_object_array_get_idx(obj, i));
                return;
        }
        if (!json_object_is_type(obj, json_type_object))
                return;
        json_object_object_foreach(obj, name, value)
        {
                if (strcasecmp(name, "Password") == 0) {
                        if (value && !json_object_is_type(value, json_type_null))
                                json_object_object_add(
                                        obj, name,
                                        json_object_new_string(REDACTED));
                } else {
                        fuzz_json_tree_redact(value);
                }
        }
}

/* No member named Password (any case) anywhere in obj has a value other
 * than null or "***". Returns the offending name or NULL. */
static inline const char *fuzz_json_unredacted(json_object *obj)
{
        if (json_object_is_type(obj, json_type_array)) {
                size_t n = json_object_array_length(obj);
                for (size_t i = 0; i < n; i++) {
                        const char *bad = fuzz_json_unredacted(
                                json_object_array_get_idx(obj, i));
                        if (bad)
                                return bad;
                }
                return NULL;
        }
        if (!json_object_is_type(obj, json_type_object))
                return NULL;
        json_object_object_foreach(obj, name, value)
        {
                if (strcasecmp(name, "Password") == 0) {
                        if (value &&
                            !(json_object_is_type(value, json_type_string) &&
                              strcmp(json_object_get_string(value),
                                     REDACTED) == 0))
                                return name;
                } else {
                        const char *bad = fuzz_json_unredacted(value);
                        if (bad)
                                return bad;
                }
        }
        return NULL;
}

/* True when text[0..len) holds a \u escape pair that json-c 0.16 reads
 * wrongly (fuzz_json_scan.c, ref_decode): a correct surrogate pair whose
 * code point has its low 16 bits in D800..DFFF, e.g. \ud836\ude00
 * (U+1DA00). Where one occurs, json-c's strings and keys differ from the
 * scanner's by design. Escaped backslashes are skipped as pairs. */
static inline bool fuzz_jsonc_surrogate_bug(const char *text, size_t len)
{
        for (size_t i = 0; i + 1 < len; i++) {
                if (text[i] != '\\')
                        continue;
                if (text[i + 1] != 'u' || i + 12 > len) {
                        i++; /* another escape: skip its letter */
                        continue;
                }
                unsigned long hi = strtoul((char[5]){text[i + 2], text[i + 3],
                                                     text[i + 4], text[i + 5],
                                                     0},
                                           NULL, 16);
                if (hi >= 0xd800 && hi <= 0xdbff && text[i + 6] == '\\' &&
                    text[i + 7] == 'u') {
                        unsigned long lo = strtoul(
                                (char[5]){text[i + 8], text[i + 9],
                                          text[i + 10], text[i + 11], 0},
                                NULL, 16);
                        if (lo >= 0xdc00 && lo <= 0xdfff) {
                                unsigned long cp = ((hi & 0x3ff) << 10 |
                                                    (lo & 0x3ff)) + 0x10000;
                                if ((cp & 0xf800) == 0xd800)
                                        return true;
                        }
                }
                i += 5;
        }
        return false;
}

#endif
