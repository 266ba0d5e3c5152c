/* config.h — configuration files: YAML or JSON into jansson values, with
 * ${ENV} and ${ENV:-default} interpolation in scalars, and the file and line
 * of every value kept so that validation errors can name them. */
#ifndef PLLM_CONFIG_H
#define PLLM_CONFIG_H
#include <jansson.h>
#include <stddef.h>

typedef struct config config_t;

/* Load FILE (YAML 1.1 via libyaml; JSON is YAML too). YAML scalars:
 * plain ones that look like integers/floats/true/false/null become those
 * JSON types, quoted ones stay strings. An undefined ${VAR} without a
 * default is an error. Returns NULL and writes "FILE:LINE: message" to err
 * on failure. Details:
 *  - plain scalars: empty, ~, null/Null/NULL → null; true/false in any
 *    case → bool (yes/no/on/off stay strings); [-+]?digits → integer
 *    (out of range: string); decimal with '.' or exponent → real; else
 *    string. Tags !!str (and any non-core tag) force a string.
 *  - ${VAR} expands to the variable's value (set but empty is ""); the
 *    error for an unset one is "FILE:LINE: undefined environment variable
 *    VAR". ${VAR:-default} uses default when VAR is unset or empty (the
 *    default is literal text up to the first '}'). $$ is a literal $; a
 *    lone $ stays. Expansion happens in every scalar value (not in keys)
 *    before the type of a plain scalar is decided; a plain scalar that
 *    expands to "" is the string "", not null.
 *  - anchors and aliases: an alias is a deep copy of its anchored node
 *    (an alias to a node not yet complete is an error, so no cycles;
 *    at most 1000000 values after expansion). "<<" merge keys take a
 *    mapping or a list of mappings and fill only keys not set otherwise.
 *  - a duplicate key in a mapping is an error naming its line; only the
 *    first document of a stream is allowed; an empty file gives {}. */
config_t *config_load(const char *path, char *err, size_t errlen);
/* Build from a string (tests); name is used in messages. */
config_t *config_load_string(const char *text, const char *name, char *err, size_t errlen);
void config_free(config_t *c);
json_t *config_root(const config_t *c);        /* borrowed */
/* Line (1-based) of the YAML node a value came from, 0 if unknown.
 * null, true and false are shared singletons in jansson, so they have no
 * line of their own here: use config_key_line / config_index_line. */
int config_line(const config_t *c, const json_t *v);
/* Line of key in the mapping obj (any value type), 0 if unknown. */
int config_key_line(const config_t *c, const json_t *obj, const char *key);
/* Line of item i of the sequence arr, 0 if unknown. */
int config_index_line(const config_t *c, const json_t *arr, size_t i);
const char *config_file(const config_t *c);
/* Parse sizes like "16MiB", "64k", "1G", 1048576 → bytes; -1 if bad.
 * Integers are bytes (no reals). Strings: digits, an optional fraction
 * (with a unit), optional spaces, a unit in any case: none/B, K/KB/KiB,
 * M/MB/MiB, G/GB/GiB, T/TB/TiB — all 1024-based. Negatives, garbage and
 * values past LLONG_MAX are -1. */
long long config_parse_size(const json_t *v);
/* Parse durations like "30s", "250ms", "5m", 10 (seconds) → ms; -1 if bad.
 * Integers and reals are seconds. Strings: one or more NUMBER UNIT groups
 * ("1h30m", "1.5s"; units ms, s, m, h, d; fractions of a ms are dropped)
 * or a bare number of seconds. */
long long config_parse_duration_ms(const json_t *v);
/* The same grammars on a C string (a flag's value): what
 * config_parse_size and config_parse_duration_ms give for that JSON
 * string. -1 if bad or NULL. */
long long config_size_str(const char *s);
long long config_duration_ms_str(const char *s);

#endif
