/* where.c — the merged exchange as a --where program sees it (the filter
 * itself is lib/jqwhere.c): {id, complete, request, response, end, chunks}
 * where request, response and end are the events as recorded (null when
 * missing) and chunks is the number of chunk events. The exchange is
 * replayed (or served) when the program's first output is neither false
 * nor null. */
#include "replay.h"

json_t *where_row(const merged_t *m)
{
    return json_pack("{s:s, s:b, s:O?, s:O?, s:O?, s:I}", "id", m->id, "complete", m->complete,
                     "request", m->request, "response", m->response, "end", m->end,
                     "chunks", (json_int_t)json_array_size(m->chunks));
}
