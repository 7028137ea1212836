/* The planner's hot paths in C (optional: setup.py builds it where it can; fast.py says how the two paths relate,
 * and the Python loops and pools are the reference).
 *
 * ``rerecord(loop, codes, trusted)`` runs ``RerecordingLoop.run`` for a program without a render side, ``record``
 * ``RecordedLoop.run``: they read the lift's int64 columns in place and keep the encoder, the pass and the
 * per-allocation epochs in C. Records and synthetic rows go into C buffers appended to the emitter's arrays before
 * every call back into Python, so a record's place in ``out`` and a synthetic row's id are what the Python loop
 * would give them. Back in Python: a user's pool (behind the guard), a C pool's calls to its storage (the
 * emitter: a page made or given back) and ``Emitter.close_window``.
 *
 * The pools wgtrace ships, in C (``fast.twin`` puts them in place of the Python ones): ``Exclusion``
 * (sim/policies/exclusion.py), ``Cache`` (runtimes/buffer_cache.py and its tfjs, onnxruntime and tinygrad
 * variants), ``Caching`` (runtimes/torch_caching.py) and ``Managed`` (pools.py and pages.py: CubeCL's memory
 * management and its pools), each answering as its Python original.
 *
 * ``fill`` and ``fill_rows``: assemble.py's columns, written in place in one pass over the placed events and the
 * records (the source columns read narrow, as the trace holds them), buffer fields mapped to pages as they go.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <structmember.h>

enum { REC = 5, SYN = 7, ROW = 5, PENDING = 1 << 16 };

/* the kind codes, in the order fast.py passes them */
enum { K_CREATE, K_DESTROY, K_ENCODER_CREATE, K_ENCODER_FINISH, K_PASS_BEGIN, K_PASS_END, K_SET_PIPELINE,
       K_SET_BIND_GROUP, K_DISPATCH, K_DISPATCH_INDIRECT, K_COPY, K_CLEAR, K_WRITE_BUFFER, K_SUBMIT, K_MAP,
       K_UNMAP, K_MAPPED_WRITE, K_QUEUE_READ, K_STAGING_USAGE, N_CODES };

typedef struct {
    int64_t *data;
    Py_ssize_t len, cap;
} Buf;

typedef struct {
    int64_t code[N_CODES];
    PyObject *em, *out, *syn, *syn_rows;
    Py_buffer columns[16];                     /* the int64 arrays below, viewed in place */
    int n_columns;
    const int64_t *kinds, *a0, *a1, *a2, *command_at;  /* per event: kind, arguments, its command (-1: none) */
    const int64_t *cmd_submit, *fp_lo, *fp_hi, *pipeline, *pipeline_set, *fp_buffer;  /* per command; footprints */
    Py_ssize_t n_commands, n_fp;
    const int64_t *group_set, *bind_key;                /* per group index and command; per event */
    PyObject *visits, *free_at, *free_buffer, *managers, *phys, *offset, *sizes, *pooled, *end_rec, *end_at, *exclusion;
    PyObject *uploaded, *reserved, *start_rec, *start_at, *trusted, *last_manager, *last_allocator;
    PyObject *acts, *windows, *window_start, *last_command_use;  /* as-recorded only (windows NULL: re-recording) */
    int last_direct, last_compiled, exclude_all;  /* last_compiled: a C pool, which syncs itself (storage_call) */
    Py_buffer writes, payloads;
    int have_payloads;
    Py_ssize_t n_writes, wi, fi;
    int64_t n, n_resources, max_tasks;
    int pass_per_dispatch, flush_write, staged, honours_submits;
    Buf out_buf, syn_buf, rows_buf, drops;
    int64_t n_out, n_syn, n_rows;             /* records, synthetic rows, synthetic row rows: emitted so far */
    int64_t next_buffer, cur, synced_cur, synced_next;
    int window_open, synced_window;
    int64_t *used_epoch, *sub_min, *pass_groups, n_groups;
    int64_t epoch, enc, n_enc, cpass, n_pass, pass_pipeline, n_disp;
} State;

static PyObject *s_frombytes, *s_cur, *s_window_open, *s_next_buffer, *s_close_window, *s_reserve, *s_free, *s_add,
    *s_allocator;

static int grow(Buf *b, Py_ssize_t need) {
    if (b->len + need <= b->cap) return 0;
    Py_ssize_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + need) cap *= 2;
    int64_t *data = PyMem_Realloc(b->data, cap * sizeof(int64_t));
    if (data == NULL) { PyErr_NoMemory(); return -1; }
    b->data = data;
    b->cap = cap;
    return 0;
}

static int push(Buf *b, const int64_t *v, Py_ssize_t k) {
    if (grow(b, k) < 0) return -1;
    memcpy(b->data + b->len, v, k * sizeof(int64_t));
    b->len += k;
    return 0;
}

static int as_int(PyObject *x, int64_t *v) {
    long long y = PyLong_AsLongLong(x);
    if (y == -1 && PyErr_Occurred()) return -1;
    *v = y;
    return 0;
}

/* value ``i`` of a per-event column, bounds-checked (every column has an entry per event) */
#define COLUMN(st, column, i, v)                                                                     \
    ((i) < 0 || (i) >= (st)->n ? (PyErr_Format(PyExc_IndexError, "planner loop: event %lld out of range", \
                                               (long long)(i)), -1)                                  \
                               : (*(v) = (st)->column[i], 0))

/* item ``i`` of a list of ints, bounds-checked */
static int item(PyObject *list, int64_t i, int64_t *v) {
    if (i < 0 || i >= PyList_GET_SIZE(list)) {
        PyErr_Format(PyExc_IndexError, "re-recording loop: index %lld out of range", (long long)i);
        return -1;
    }
    long long x = PyLong_AsLongLong(PyList_GET_ITEM(list, i));
    if (x == -1 && PyErr_Occurred()) return -1;
    *v = x;
    return 0;
}

static int set_item(PyObject *list, int64_t i, int64_t v) {
    if (i < 0 || i >= PyList_GET_SIZE(list)) {
        PyErr_Format(PyExc_IndexError, "re-recording loop: index %lld out of range", (long long)i);
        return -1;
    }
    PyObject *x = PyLong_FromLongLong(v);
    if (x == NULL) return -1;
    return PyList_SetItem(list, i, x);
}

static int64_t size_of(PyObject *obj, int64_t per) {
    Py_ssize_t n = PyObject_Size(obj);
    return n < 0 ? -1 : n / per;
}

static int append_to(PyObject *array, Buf *b) {
    if (!b->len) return 0;
    PyObject *view = PyMemoryView_FromMemory((char *)b->data, b->len * sizeof(int64_t), PyBUF_READ);
    if (view == NULL) return -1;
    PyObject *r = PyObject_CallMethodOneArg(array, s_frombytes, view);
    Py_DECREF(view);
    if (r == NULL) return -1;
    Py_DECREF(r);
    b->len = 0;
    return 0;
}

static int set_int(PyObject *obj, PyObject *name, int64_t v) {
    PyObject *x = PyLong_FromLongLong(v);
    if (x == NULL) return -1;
    int r = PyObject_SetAttr(obj, name, x);
    Py_DECREF(x);
    return r;
}

/* before a call into Python: the emitter's arrays and attributes as the Python loop would have them */
static int sync_out(State *st) {
    if (append_to(st->out, &st->out_buf) < 0 || append_to(st->syn, &st->syn_buf) < 0
        || append_to(st->syn_rows, &st->rows_buf) < 0)
        return -1;
    if (st->cur != st->synced_cur) {
        if (set_int(st->em, s_cur, st->cur) < 0) return -1;
        st->synced_cur = st->cur;
    }
    if (st->window_open != st->synced_window) {
        if (PyObject_SetAttr(st->em, s_window_open, st->window_open ? Py_True : Py_False) < 0) return -1;
        st->synced_window = st->window_open;
    }
    if (st->next_buffer != st->synced_next) {
        if (set_int(st->em, s_next_buffer, st->next_buffer) < 0) return -1;
        st->synced_next = st->next_buffer;
    }
    return 0;
}

/* after it: what Python emitted and the buffer ids it took */
static int sync_in(State *st) {
    PyObject *x = PyObject_GetAttr(st->em, s_next_buffer);
    if (x == NULL) return -1;
    st->next_buffer = st->synced_next = PyLong_AsLongLong(x);
    Py_DECREF(x);
    if (st->next_buffer == -1 && PyErr_Occurred()) return -1;
    if ((st->n_out = size_of(st->out, REC)) < 0 || (st->n_syn = size_of(st->syn, SYN)) < 0
        || (st->n_rows = size_of(st->syn_rows, ROW)) < 0)
        return -1;
    return 0;
}

/* the loop running now, if any: a C pool's call to its storage (the emitter) syncs it first and after, so the loop
 * need not sync around every reservation and free of a C pool, only around the few that make or give back a page */
static State *active = NULL;

static PyObject *storage_call(PyObject *storage, const char *method, int64_t value) {
    State *st = active != NULL && storage == active->em ? active : NULL;
    if (st != NULL && sync_out(st) < 0) return NULL;
    PyObject *r = PyObject_CallMethod(storage, method, "L", (long long)value);
    if (r != NULL && st != NULL && sync_in(st) < 0) Py_CLEAR(r);
    return r;
}

static int rec(State *st, int64_t src, int64_t kind, int64_t a0, int64_t time, int64_t origin) {
    int64_t r[REC] = {src, kind, a0, time, origin};
    st->n_out++;
    return push(&st->out_buf, r, REC);
}

/* Emitter.synth: a record of a synthetic row */
static int synth(State *st, int64_t kind, int64_t a0, const int64_t rest[5], int64_t origin, int64_t nrows,
                 int64_t rowsrc) {
    int64_t row[SYN] = {rest[0], rest[1], rest[2], rest[3], rest[4], nrows, rowsrc};
    if (rec(st, -1 - st->n_syn, kind, a0, st->cur, origin) < 0) return -1;
    st->n_syn++;
    return push(&st->syn_buf, row, SYN);
}

static const int64_t NO_ARGS[5] = {0, 0, 0, 0, 0};
static const int64_t DROP[5] = {1, 0, 0, 0, 0};

static int open_encoder(State *st) {
    int64_t rest[5] = {-1, 0, 0, 0, 0};
    st->enc = st->n_enc++;
    st->window_open = 1;
    return synth(st, st->code[K_ENCODER_CREATE], st->enc, rest, -1, 0, -1);
}

static int begin_pass(State *st) {
    int64_t rest[5] = {st->enc, 0, 0, 0, 0};
    st->cpass = st->n_pass++;
    st->pass_pipeline = -1;
    for (int64_t g = 0; g < st->n_groups; g++) st->pass_groups[g] = -1;
    return synth(st, st->code[K_PASS_BEGIN], st->cpass, rest, -1, 0, -1);
}

static int end_pass(State *st) {
    if (st->cpass < 0) return 0;
    int64_t cpass = st->cpass;
    st->cpass = -1;
    return synth(st, st->code[K_PASS_END], cpass, NO_ARGS, -1, 0, -1);
}

static int close_window(State *st) {
    if (sync_out(st) < 0) return -1;
    PyObject *r = PyObject_CallMethodNoArgs(st->em, s_close_window);
    if (r == NULL) return -1;
    Py_DECREF(r);
    st->window_open = st->synced_window = 0;
    return sync_in(st);
}

static int flush(State *st, int64_t origin) {
    if (st->enc < 0) return 0;
    if (end_pass(st) < 0 || synth(st, st->code[K_ENCODER_FINISH], st->enc, NO_ARGS, -1, 0, -1) < 0) return -1;
    int64_t row[ROW] = {st->enc, 0, 0, 0, 0};
    if (push(&st->rows_buf, row, ROW) < 0) return -1;
    st->n_rows++;
    if (synth(st, st->code[K_SUBMIT], 0, NO_ARGS, origin, 1, -1 - st->n_rows) < 0) return -1;
    st->enc = -1;
    st->n_disp = 0;
    st->epoch++;
    for (Py_ssize_t k = 0; k < st->drops.len; k++)
        if (synth(st, st->code[K_DESTROY], st->drops.data[k], DROP, -1, 0, -1) < 0) return -1;
    st->drops.len = 0;
    return close_window(st);
}

static void note_use(State *st, int64_t b, int64_t s) {
    if (st->used_epoch[b] != st->epoch) {
        st->used_epoch[b] = st->epoch;
        st->sub_min[b] = s;
    } else if (s < st->sub_min[b]) {
        st->sub_min[b] = s;
    }
}

static int resource(State *st, int64_t b) {
    if (b < 0 || b >= st->n_resources) {
        PyErr_Format(PyExc_IndexError, "re-recording loop: resource %lld out of range", (long long)b);
        return -1;
    }
    return 0;
}

static int command(State *st, int64_t c) {
    if (c < 0 || c >= st->n_commands) {
        PyErr_Format(PyExc_IndexError, "re-recording loop: command %lld out of range", (long long)c);
        return -1;
    }
    return 0;
}

/* RerecordingLoop.use: the open encoder now holds command c */
static int use(State *st, int64_t c) {
    int64_t s, lo, hi, b;
    if (command(st, c) < 0) return -1;
    s = st->cmd_submit[c], lo = st->fp_lo[c], hi = st->fp_hi[c];
    if (lo < 0 || hi > st->n_fp) {
        PyErr_SetString(PyExc_IndexError, "re-recording loop: a footprint out of range");
        return -1;
    }
    for (int64_t k = lo; k < hi; k++) {
        if (resource(st, b = st->fp_buffer[k]) < 0) return -1;
        note_use(st, b, s);
    }
    return 0;
}

static int command_of(State *st, int64_t i, int64_t *c) {
    if (COLUMN(st, command_at, i, c) < 0) return -1;
    if (*c < 0) {
        PyErr_Format(PyExc_KeyError, "%lld", (long long)i);
        return -1;
    }
    return 0;
}

static int set_calls(State *st, int64_t c) {
    int64_t pipe, s, key;
    if (command(st, c) < 0) return -1;
    pipe = st->pipeline[c];
    if (pipe >= 0 && pipe != st->pass_pipeline) {
        s = st->pipeline_set[c];
        if (rec(st, s, st->code[K_SET_PIPELINE], st->cpass, st->cur, s) < 0)
            return -1;
        st->pass_pipeline = pipe;
    }
    for (int64_t g = 0; g < st->n_groups; g++) {
        s = st->group_set[g * st->n_commands + c];
        if (s < 0) continue;
        if (s >= st->n || (key = st->bind_key[s]) < 0) {
            PyErr_Format(PyExc_ValueError, "re-recording loop: event %lld is no set_bind_group", (long long)s);
            return -1;
        }
        if (st->pass_groups[g] != key) {
            if (rec(st, s, st->code[K_SET_BIND_GROUP], st->cpass, st->cur, s) < 0) return -1;
            st->pass_groups[g] = key;
        }
    }
    return 0;
}

static int dispatch(State *st, PyObject *event, int64_t i, int64_t kind) {
    int64_t c;
    if (command_of(st, i, &c) < 0) return -1;
    if (st->enc < 0 && open_encoder(st) < 0) return -1;
    if ((st->pass_per_dispatch || st->cpass < 0) && begin_pass(st) < 0) return -1;
    if (set_calls(st, c) < 0 || rec(st, i, kind, st->cpass, i, i) < 0 || use(st, c) < 0) return -1;
    if (st->pass_per_dispatch && end_pass(st) < 0) return -1;
    if (++st->n_disp == st->max_tasks) return flush(st, -1);
    return 0;
}

static int encoder_command(State *st, PyObject *event, int64_t i, int64_t kind) {
    int64_t c;
    if (st->enc < 0 && open_encoder(st) < 0) return -1;
    if (end_pass(st) < 0 || rec(st, i, kind, st->enc, i, i) < 0 || command_of(st, i, &c) < 0) return -1;
    return use(st, c);
}

/* a write's staging buffer: a new page and its allocation at offset 0 (Emitter._staging_buffer) */
static int staging_buffer(State *st, int64_t *page, int64_t *sid) {
    *page = st->next_buffer++;
    PyObject *p = PyLong_FromLongLong(*page);
    if (p == NULL) return -1;
    int r = PyList_Append(st->phys, p);
    Py_DECREF(p);
    PyObject *zero = PyLong_FromLong(0);
    if (r < 0 || PyList_Append(st->offset, zero) < 0) {
        Py_DECREF(zero);
        return -1;
    }
    Py_DECREF(zero);
    *sid = PyList_GET_SIZE(st->phys) - 1;
    return 0;
}

static int payload(State *st, int64_t i, int64_t out[3]) {
    const int64_t *writes = st->writes.buf, *columns = st->payloads.buf;
    while (st->wi < st->n_writes && writes[st->wi] < i) st->wi++;
    if (st->wi >= st->n_writes || writes[st->wi] != i) {
        PyErr_Format(PyExc_KeyError, "re-recording loop: no payload for write %lld", (long long)i);
        return -1;
    }
    memcpy(out, columns + 3 * st->wi, 3 * sizeof(int64_t));
    return 0;
}

/* RerecordingLoop.staged_write with Emitter.synth_staging / synth_staged_copy */
static int staged_write(State *st, int64_t i, int64_t b) {
    int64_t size, dst_offset, pay[3], page, sid;
    if (COLUMN(st, a2, i, &size) < 0 || COLUMN(st, a1, i, &dst_offset) < 0 || payload(st, i, pay) < 0
        || staging_buffer(st, &page, &sid) < 0)
        return -1;
    int64_t create[5] = {size, st->code[K_STAGING_USAGE], -1, 1, 0};
    int64_t write[5] = {0, size, pay[0], pay[1], pay[2]};
    if (synth(st, st->code[K_CREATE], page, create, -1, 0, -1) < 0
        || synth(st, st->code[K_MAPPED_WRITE], sid, write, i, 0, -1) < 0
        || synth(st, st->code[K_UNMAP], sid, NO_ARGS, -1, 0, -1) < 0)
        return -1;
    if (st->enc >= 0) {
        if (end_pass(st) < 0) return -1;
    } else if (open_encoder(st) < 0) {
        return -1;
    }
    int64_t copy[5] = {sid, 0, b, dst_offset, size};
    if (synth(st, st->code[K_COPY], st->enc, copy, i, 0, -1) < 0 || push(&st->drops, &page, 1) < 0) return -1;
    if (st->used_epoch[b] != st->epoch) {
        st->used_epoch[b] = st->epoch;
        st->sub_min[b] = st->n;
    }
    return 0;
}

static int queue_write(State *st, int64_t i) {
    int64_t b;
    if (COLUMN(st, a0, i, &b) < 0 || resource(st, b) < 0) return -1;
    if (((st->used_epoch[b] == st->epoch && st->sub_min[b] < i) || (st->flush_write && st->enc >= 0))
        && flush(st, -1) < 0)
        return -1;
    if (st->staged) return staged_write(st, i, b);
    return rec(st, i, st->code[K_WRITE_BUFFER], b, i, i);
}

static int queue_read(State *st, int64_t i, int64_t kind) {
    int64_t a0;
    if (flush(st, -1) < 0 || COLUMN(st, a0, i, &a0) < 0) return -1;
    return rec(st, i, kind, a0, i, i);
}

static int destroy(State *st, int64_t i) {
    int64_t b, a1, page;
    if (COLUMN(st, a0, i, &b) < 0 || COLUMN(st, a1, i, &a1) < 0 || resource(st, b) < 0) return -1;
    if (a1 == 0 && st->used_epoch[b] == st->epoch && st->sub_min[b] < i && flush(st, -1) < 0) return -1;
    if (item(st->phys, b, &page) < 0) return -1;
    return rec(st, i, st->code[K_DESTROY], page, i, i);
}

static int is_compiled_pool(PyObject *allocator);

/* the allocator to call for allocation b's manager: a shipped pool's own behind ``Trusted`` (which only
 * forwards), else the manager (the guard's, which takes the allocation too); *direct: which of the two */
static PyObject *allocator_of(State *st, int64_t b, int *direct) {
    if (b < 0 || b >= PyList_GET_SIZE(st->managers)) {
        PyErr_SetString(PyExc_IndexError, "re-recording loop: allocation without a manager");
        return NULL;
    }
    PyObject *m = PyList_GET_ITEM(st->managers, b);
    if (m != st->last_manager) {
        Py_XDECREF(st->last_allocator);
        st->last_allocator = NULL;
        st->last_manager = m;
        st->last_direct = Py_TYPE(m) == (PyTypeObject *)st->trusted;
        st->last_allocator = st->last_direct ? PyObject_GetAttr(m, s_allocator) : Py_NewRef(m);
        if (st->last_allocator == NULL) {
            st->last_manager = NULL;
            return NULL;
        }
        st->last_compiled = st->last_direct && is_compiled_pool(st->last_allocator);
    }
    *direct = st->last_direct;
    return st->last_allocator;
}

static int set_object(PyObject *list, int64_t i, PyObject *x) {
    if (i < 0 || i >= PyList_GET_SIZE(list)) {
        PyErr_Format(PyExc_IndexError, "re-recording loop: index %lld out of range", (long long)i);
        return -1;
    }
    return PyList_SetItem(list, i, Py_NewRef(x));
}

/* Emitter.create: a pooled allocation reserves its slice (the exclusion passed where a queue write fills it, or
 * for every allocation of a pool that defers reuse); any other buffer is created as recorded */
static int create(State *st, int64_t i) {
    int64_t b, pooled, uploaded;
    int direct;
    if (COLUMN(st, a0, i, &b) < 0 || item(st->pooled, b, &pooled) < 0) return -1;
    if (!pooled) {
        int64_t page = st->next_buffer++;
        if (set_item(st->phys, b, page) < 0) return -1;
        return rec(st, i, st->code[K_CREATE], page, i, i);
    }
    if (item(st->uploaded, b, &uploaded) < 0 || set_item(st->start_rec, b, st->n_out) < 0
        || set_item(st->start_at, b, i) < 0)
        return -1;
    PyObject *allocator = allocator_of(st, b, &direct), *size = NULL, *ab = NULL, *got = NULL;
    if (allocator == NULL || (!st->last_compiled && sync_out(st) < 0)) return -1;
    if (b >= PyList_GET_SIZE(st->sizes)) {
        PyErr_SetString(PyExc_IndexError, "re-recording loop: allocation without a size");
        return -1;
    }
    size = PyList_GET_ITEM(st->sizes, b);
    PyObject *exclude = uploaded || st->exclude_all ? st->exclusion : Py_None;
    if (direct) {
        PyObject *args[3] = {allocator, size, exclude};
        got = PyObject_VectorcallMethod(s_reserve, args, 3 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    } else if ((ab = PyLong_FromLongLong(b)) != NULL) {
        PyObject *args[4] = {allocator, ab, size, exclude};
        got = PyObject_VectorcallMethod(s_reserve, args, 4 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        Py_DECREF(ab);
    }
    if (got == NULL) return -1;
    PyObject *fields = PySequence_Tuple(got);
    Py_DECREF(got);
    if (fields == NULL) return -1;
    int r = -1;
    if (PyTuple_GET_SIZE(fields) != 3)
        PyErr_Format(PyExc_ValueError, "too %s values to unpack (expected 3)",
                     PyTuple_GET_SIZE(fields) > 3 ? "many" : "few");
    else if (set_object(st->phys, b, PyTuple_GET_ITEM(fields, 0)) == 0
             && set_object(st->offset, b, PyTuple_GET_ITEM(fields, 1)) == 0
             && set_object(st->reserved, b, PyTuple_GET_ITEM(fields, 2)) == 0)
        r = 0;
    Py_DECREF(fields);
    return r < 0 ? -1 : st->last_compiled ? 0 : sync_in(st);
}

static PyObject *call3(PyObject *obj, PyObject *name, int64_t x, int64_t y, int64_t z) {
    PyObject *args[4] = {obj, PyLong_FromLongLong(x), PyLong_FromLongLong(y), PyLong_FromLongLong(z)};
    PyObject *r = NULL;
    if (args[1] != NULL && args[2] != NULL && args[3] != NULL)
        r = PyObject_VectorcallMethod(name, args, 4 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    Py_XDECREF(args[1]);
    Py_XDECREF(args[2]);
    Py_XDECREF(args[3]);
    return r;
}

static int exclude(State *st, int64_t page, int64_t lo, int64_t hi);

static PyObject *call2(PyObject *obj, PyObject *name, int64_t x, int64_t y) {
    PyObject *args[3] = {obj, PyLong_FromLongLong(x), PyLong_FromLongLong(y)};
    PyObject *r = NULL;
    if (args[1] != NULL && args[2] != NULL)
        r = PyObject_VectorcallMethod(name, args, 3 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    Py_XDECREF(args[1]);
    Py_XDECREF(args[2]);
    return r;
}

/* Loop.release: storage of allocations that end before ``stop`` given back; the event the next free follows */
static int release(State *st, int64_t stop, int64_t *next) {
    int64_t f, b, page, off, size;
    for (;;) {
        if (item(st->free_at, st->fi, &f) < 0) return -1;
        if (f >= stop) break;
        if (item(st->free_buffer, st->fi, &b) < 0 || resource(st, b) < 0) return -1;
        st->fi++;
        st->cur = f;
        int used;
        if (st->windows != NULL) {  /* as recorded: the program's window after f, and whether its commands use b */
            int64_t last_use, since;
            if (f < 0 || f >= PyList_GET_SIZE(st->windows)) {
                PyErr_SetString(PyExc_IndexError, "as-recorded loop: a free past the windows");
                return -1;
            }
            if ((st->window_open = PyObject_IsTrue(PyList_GET_ITEM(st->windows, f))) < 0
                || item(st->last_command_use, b, &last_use) < 0 || item(st->window_start, f, &since) < 0)
                return -1;
            used = last_use >= since;
        } else {
            used = st->used_epoch[b] == st->epoch;
        }
        if (set_item(st->end_rec, b, st->n_out) < 0 || set_item(st->end_at, b, f) < 0) return -1;
        if (item(st->phys, b, &page) < 0 || item(st->offset, b, &off) < 0) return -1;
        int direct;
        PyObject *allocator = allocator_of(st, b, &direct);
        if (allocator == NULL || (!st->last_compiled && sync_out(st) < 0)) return -1;
        PyObject *r = direct ? call2(allocator, s_free, page, off) : call3(allocator, s_free, b, page, off);
        if (r == NULL) return -1;
        Py_DECREF(r);
        if (!st->last_compiled && sync_in(st) < 0) return -1;
        if (st->exclusion != Py_None && st->window_open && used) {
            if (item(st->sizes, b, &size) < 0) return -1;
            if (exclude(st, page, off, off + (size > 1 ? size : 1)) < 0) return -1;
        }
    }
    *next = f;
    return 0;
}

static int visit(State *st, PyObject *event, int64_t i) {
    int64_t kind;
    const int64_t *k = st->code;
    if (COLUMN(st, kinds, i, &kind) < 0) return -1;
    if (kind == k[K_DISPATCH] || kind == k[K_DISPATCH_INDIRECT]) return dispatch(st, event, i, kind);
    if (kind == k[K_COPY] || kind == k[K_CLEAR]) return encoder_command(st, event, i, kind);
    if (kind == k[K_WRITE_BUFFER] || kind == k[K_MAPPED_WRITE]) return queue_write(st, i);
    if (kind == k[K_CREATE]) return create(st, i);
    if (kind == k[K_QUEUE_READ] || kind == k[K_MAP]) return queue_read(st, i, kind);
    if (kind == k[K_DESTROY]) return destroy(st, i);
    if (kind == k[K_SUBMIT] && st->honours_submits) return flush(st, i);
    PyErr_Format(PyExc_ValueError, "re-recording loop: event %lld of kind %lld is not one it visits",
                 (long long)i, (long long)kind);
    return -1;
}

/* the pending records and rows appended once there are many: the buffers stay small, and no second copy of the
 * plan's records is ever made whole */
static int drain(State *st) {
    if (st->out_buf.len < PENDING && st->syn_buf.len < PENDING) return 0;
    return append_to(st->out, &st->out_buf) < 0 || append_to(st->syn, &st->syn_buf) < 0
           || append_to(st->syn_rows, &st->rows_buf) < 0 ? -1 : 0;
}

static int run(State *st) {
    PyObject *visits = st->visits;
    int64_t next_free;
    if (item(st->free_at, 0, &next_free) < 0) return -1;
    for (Py_ssize_t j = 0; j < PyList_GET_SIZE(visits); j++) {
        PyObject *event = PyList_GET_ITEM(visits, j);
        int64_t i = PyLong_AsLongLong(event);
        if (i == -1 && PyErr_Occurred()) return -1;
        if (next_free < i && release(st, i, &next_free) < 0) return -1;
        st->cur = i;
        if (visit(st, event, i) < 0 || drain(st) < 0) return -1;
    }
    if (release(st, st->n, &next_free) < 0) return -1;
    st->cur = st->n - 1;
    if (flush(st, -1) < 0) return -1;
    return sync_out(st);
}

/* attribute ``name`` of ``obj``, which must be a list (or, with ``any``, anything): a borrowed-like reference
 * kept alive by ``keep`` */
static PyObject *attr(PyObject *obj, const char *name, PyObject *keep, int any) {
    PyObject *x = PyObject_GetAttrString(obj, name);
    if (x == NULL) return NULL;
    int r = PyList_Append(keep, x);
    Py_DECREF(x);
    if (r < 0) return NULL;
    if (!any && !PyList_Check(x)) {
        PyErr_Format(PyExc_TypeError, "re-recording loop: %s is not a list", name);
        return NULL;
    }
    return x;
}

static int int_attr(PyObject *obj, const char *name, int64_t *v) {
    PyObject *x = PyObject_GetAttrString(obj, name);
    if (x == NULL) return -1;
    *v = PyLong_AsLongLong(x);
    Py_DECREF(x);
    return *v == -1 && PyErr_Occurred() ? -1 : 0;
}

static int bool_attr(PyObject *obj, const char *name, int *v) {
    PyObject *x = PyObject_GetAttrString(obj, name);
    if (x == NULL) return -1;
    *v = PyObject_IsTrue(x);
    Py_DECREF(x);
    return *v < 0 ? -1 : 0;
}

static int int64_buffer(PyObject *obj, Py_buffer *view, const char *name) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    if (view->itemsize != 8 || view->format == NULL || (strcmp(view->format, "l") && strcmp(view->format, "q"))) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_TypeError, "re-recording loop: %s is not contiguous int64", name);
        return -1;
    }
    return 0;
}

/* an int64 array of the loop (attribute ``name``), viewed in place, and its length */
static int array(State *st, PyObject *loop, const char *name, const int64_t **values, Py_ssize_t *n, PyObject *keep) {
    PyObject *a = attr(loop, name, keep, 1);
    Py_buffer *view = &st->columns[st->n_columns];
    if (a == NULL || int64_buffer(a, view, name) < 0) return -1;
    st->n_columns++;
    *values = view->buf;
    *n = view->len / 8;
    return 0;
}

static int sized(const char *name, Py_ssize_t n, Py_ssize_t want) {
    if (n == want) return 0;
    PyErr_Format(PyExc_ValueError, "planner loop: %s has %zd entries, not %zd", name, n, want);
    return -1;
}

/* a per-event column: one entry per event */
static int column(State *st, PyObject *loop, const char *name, const int64_t **values, PyObject *keep) {
    Py_ssize_t n;
    return array(st, loop, name, values, &n, keep) < 0 ? -1 : sized(name, n, st->n);
}

/* a per-command column: one entry per command (cmd_submit_array's length) */
static int per_command(State *st, PyObject *loop, const char *name, const int64_t **values, PyObject *keep) {
    Py_ssize_t n;
    return array(st, loop, name, values, &n, keep) < 0 ? -1 : sized(name, n, st->n_commands);
}

/* what both loops read: the emitter's state, the frees, the events' kinds and first arguments */
static int setup_common(State *st, PyObject *loop, PyObject *codes, PyObject *trusted, PyObject *keep) {
    if (!PyType_Check(trusted)) {
        PyErr_SetString(PyExc_TypeError, "planner loop: trusted must be the class of a shipped pool's manager");
        return -1;
    }
    st->trusted = trusted;
    if (!PyTuple_Check(codes) || PyTuple_GET_SIZE(codes) != N_CODES) {
        PyErr_SetString(PyExc_TypeError, "planner loop: codes must be a tuple of the kind codes");
        return -1;
    }
    for (int k = 0; k < N_CODES; k++)
        if ((st->code[k] = PyLong_AsLongLong(PyTuple_GET_ITEM(codes, k))) == -1 && PyErr_Occurred()) return -1;
    PyObject *em = st->em = attr(loop, "emitter", keep, 1);
    PyObject *ends = em == NULL ? NULL : attr(em, "end_mark", keep, 1);
    PyObject *starts = ends == NULL ? NULL : attr(em, "start_mark", keep, 1);
    if (starts == NULL || !(st->out = attr(em, "out", keep, 1)) || !(st->syn = attr(em, "syn", keep, 1))
        || !(st->syn_rows = attr(em, "syn_rows", keep, 1)) || !(st->visits = attr(loop, "visits", keep, 0))
        || !(st->free_at = attr(loop, "free_at", keep, 0)) || !(st->free_buffer = attr(loop, "free_buffer", keep, 0))
        || !(st->managers = attr(em, "managers", keep, 0)) || !(st->phys = attr(em, "phys", keep, 0))
        || !(st->offset = attr(em, "offset", keep, 0)) || !(st->sizes = attr(em, "sizes", keep, 0))
        || !(st->pooled = attr(em, "pooled_flags", keep, 0)) || !(st->exclusion = attr(em, "exclusion", keep, 1))
        || !(st->uploaded = attr(em, "uploaded", keep, 0)) || !(st->reserved = attr(em, "reserved", keep, 0))
        || bool_attr(em, "exclude_all", &st->exclude_all) < 0)
        return -1;
    PyObject *marks[2] = {ends, starts};
    for (int k = 0; k < 2; k++)
        if (!PyTuple_Check(marks[k]) || PyTuple_GET_SIZE(marks[k]) != 2 || !PyList_Check(PyTuple_GET_ITEM(marks[k], 0))
            || !PyList_Check(PyTuple_GET_ITEM(marks[k], 1))) {
            PyErr_SetString(PyExc_TypeError, "planner loop: end_mark and start_mark are two lists each");
            return -1;
        }
    st->end_rec = PyTuple_GET_ITEM(ends, 0);
    st->end_at = PyTuple_GET_ITEM(ends, 1);
    st->start_rec = PyTuple_GET_ITEM(starts, 0);
    st->start_at = PyTuple_GET_ITEM(starts, 1);
    if (int_attr(loop, "n", &st->n) < 0 || column(st, loop, "kind_array", &st->kinds, keep) < 0
        || column(st, loop, "a0_array", &st->a0, keep) < 0 || int_attr(loop, "n_resources", &st->n_resources) < 0
        || int_attr(em, "next_buffer", &st->next_buffer) < 0 || int_attr(em, "cur", &st->cur) < 0
        || bool_attr(em, "window_open", &st->window_open) < 0)
        return -1;
    st->synced_cur = st->cur;
    st->synced_next = st->next_buffer;
    st->synced_window = st->window_open;
    st->used_epoch = PyMem_Malloc((st->n_resources + 1) * sizeof(int64_t));
    st->sub_min = PyMem_Calloc(st->n_resources + 1, sizeof(int64_t));
    if (st->used_epoch == NULL || st->sub_min == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (int64_t b = 0; b < st->n_resources; b++) st->used_epoch[b] = -1;
    st->enc = st->cpass = st->pass_pipeline = -1;
    if ((st->n_out = size_of(st->out, REC)) < 0 || (st->n_syn = size_of(st->syn, SYN)) < 0
        || (st->n_rows = size_of(st->syn_rows, ROW)) < 0)
        return -1;
    return 0;
}

/* what the re-recording loop reads besides: the commands, their footprints and pass state, the pass policy */
static int setup_rerecord(State *st, PyObject *loop, PyObject *keep) {
    Py_ssize_t n_group_set;
    if (column(st, loop, "a1_array", &st->a1, keep) < 0 || column(st, loop, "a2_array", &st->a2, keep) < 0
        || column(st, loop, "command_at", &st->command_at, keep) < 0
        || array(st, loop, "cmd_submit_array", &st->cmd_submit, &st->n_commands, keep) < 0
        || per_command(st, loop, "fp_lo_array", &st->fp_lo, keep) < 0
        || per_command(st, loop, "fp_hi_array", &st->fp_hi, keep) < 0
        || per_command(st, loop, "pipeline_array", &st->pipeline, keep) < 0
        || per_command(st, loop, "pipeline_set_array", &st->pipeline_set, keep) < 0
        || array(st, loop, "fp_buffer_array", &st->fp_buffer, &st->n_fp, keep) < 0
        || column(st, loop, "bind_key_array", &st->bind_key, keep) < 0
        || array(st, loop, "group_set_array", &st->group_set, &n_group_set, keep) < 0
        || int_attr(loop, "n_groups", &st->n_groups) < 0
        || sized("group_set_array", n_group_set, st->n_groups * st->n_commands) < 0)
        return -1;
    if (int_attr(loop, "max_tasks", &st->max_tasks) < 0
        || bool_attr(loop, "pass_per_dispatch", &st->pass_per_dispatch) < 0
        || bool_attr(loop, "flush_write", &st->flush_write) < 0 || bool_attr(loop, "staged", &st->staged) < 0
        || bool_attr(loop, "honours_submits", &st->honours_submits) < 0)
        return -1;
    if (st->max_tasks == 0) st->max_tasks = -1;
    if (st->staged) {
        PyObject *writes = attr(loop, "write_events", keep, 1), *payloads = attr(loop, "write_payloads", keep, 1);
        if (writes == NULL || payloads == NULL || int64_buffer(writes, &st->writes, "write_events") < 0) return -1;
        if (int64_buffer(payloads, &st->payloads, "write_payloads") < 0) {
            PyBuffer_Release(&st->writes);
            return -1;
        }
        st->have_payloads = 1;
        st->n_writes = st->writes.len / 8;
        if (st->payloads.len != 3 * st->writes.len) {
            PyErr_SetString(PyExc_ValueError, "re-recording loop: write_payloads is not three columns per write");
            return -1;
        }
    }
    st->pass_groups = PyMem_Malloc((st->n_groups + 1) * sizeof(int64_t));
    if (st->pass_groups == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (int64_t g = 0; g < st->n_groups; g++) st->pass_groups[g] = -1;
    return 0;
}

/* what the as-recorded loop reads besides: which events it acts on, the program's windows */
static int setup_record(State *st, PyObject *loop, PyObject *keep) {
    if (!(st->acts = attr(loop, "acts", keep, 0)) || !(st->windows = attr(loop, "window_open", keep, 0))
        || !(st->window_start = attr(loop, "window_start", keep, 0))
        || !(st->last_command_use = attr(loop, "last_command_use", keep, 0)))
        return -1;
    if (PyList_GET_SIZE(st->acts) != PyList_GET_SIZE(st->visits)) {
        PyErr_SetString(PyExc_ValueError, "as-recorded loop: an act per visit");
        return -1;
    }
    return 0;
}

static void release_state(State *st) {
    for (int k = 0; k < st->n_columns; k++) PyBuffer_Release(&st->columns[k]);
    if (st->have_payloads) {
        PyBuffer_Release(&st->writes);
        PyBuffer_Release(&st->payloads);
    }
    PyMem_Free(st->out_buf.data);
    PyMem_Free(st->syn_buf.data);
    PyMem_Free(st->rows_buf.data);
    PyMem_Free(st->drops.data);
    PyMem_Free(st->used_epoch);
    PyMem_Free(st->sub_min);
    PyMem_Free(st->pass_groups);
    Py_XDECREF(st->last_allocator);
}

/* RecordedLoop.run: the scheduled creations, destroys and window closes, in order */
static int run_record(State *st) {
    int64_t next_free, kind, a0, page;
    if (item(st->free_at, 0, &next_free) < 0) return -1;
    for (Py_ssize_t j = 0; j < PyList_GET_SIZE(st->visits); j++) {
        int64_t i;
        if (as_int(PyList_GET_ITEM(st->visits, j), &i) < 0) return -1;
        if (next_free < i && release(st, i, &next_free) < 0) return -1;
        st->cur = i;
        if (i < 0 || i >= PyList_GET_SIZE(st->windows)) {
            PyErr_SetString(PyExc_IndexError, "as-recorded loop: an event past the windows");
            return -1;
        }
        int is_open = PyObject_IsTrue(PyList_GET_ITEM(st->windows, i)), act;
        if (is_open < 0) return -1;
        if (st->window_open && !is_open && close_window(st) < 0) return -1;
        st->window_open = is_open;
        if ((act = PyObject_IsTrue(PyList_GET_ITEM(st->acts, j))) < 0) return -1;
        if (!act) continue;
        if (COLUMN(st, kinds, i, &kind) < 0) return -1;
        if (kind == st->code[K_CREATE]) {
            if (create(st, i) < 0) return -1;
            continue;
        }
        if (COLUMN(st, a0, i, &a0) < 0 || item(st->phys, a0, &page) < 0 || rec(st, i, kind, page, i, i) < 0) return -1;
    }
    if (release(st, st->n, &next_free) < 0) return -1;
    return sync_out(st);
}

static PyObject *record(PyObject *self, PyObject *args) {
    PyObject *loop, *codes, *trusted;
    if (!PyArg_ParseTuple(args, "OOO", &loop, &codes, &trusted)) return NULL;
    PyObject *keep = PyList_New(0);
    if (keep == NULL) return NULL;
    State st;
    memset(&st, 0, sizeof st);
    int ok = setup_common(&st, loop, codes, trusted, keep) == 0 && setup_record(&st, loop, keep) == 0;
    State *outer = active;
    active = &st;
    ok = ok && run_record(&st) == 0;
    active = outer;
    release_state(&st);
    Py_DECREF(keep);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

static PyObject *rerecord(PyObject *self, PyObject *args) {
    PyObject *loop, *codes, *trusted;
    if (!PyArg_ParseTuple(args, "OOO", &loop, &codes, &trusted)) return NULL;
    PyObject *keep = PyList_New(0);
    if (keep == NULL) return NULL;
    State st;
    memset(&st, 0, sizeof st);
    int ok = setup_common(&st, loop, codes, trusted, keep) == 0 && setup_rerecord(&st, loop, keep) == 0;
    State *outer = active;
    active = &st;
    ok = ok && run(&st) == 0;
    active = outer;
    release_state(&st);
    Py_DECREF(keep);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

/* -- Exclusion: sim/policies/exclusion.py's, in C (the same methods and answers; ``pages`` the same set) -------- */

typedef struct {
    int64_t *flat;  /* sorted, merged [lo, hi) bounds */
    Py_ssize_t len, cap;
} Ranges;

typedef struct {
    PyObject_HEAD
    int by_range;
    PyObject *pages;          /* page mode: the pages, a set */
    Ranges *ranges;           /* range mode: per page id */
    Py_ssize_t n_ranges;
    Buf touched;              /* pages whose ranges are not empty */
} ExclusionObject;

static Py_ssize_t bisect_left(const int64_t *a, Py_ssize_t n, int64_t x) {
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        if (a[mid] < x) lo = mid + 1; else hi = mid;
    }
    return lo;
}

static Py_ssize_t bisect_right(const int64_t *a, Py_ssize_t n, int64_t x) {
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        if (x < a[mid]) hi = mid; else lo = mid + 1;
    }
    return lo;
}

static Ranges *ranges_of(ExclusionObject *ex, int64_t page) {
    return page >= 0 && page < ex->n_ranges && ex->ranges[page].len ? &ex->ranges[page] : NULL;
}

/* whether [lo, hi) of these ranges is used (Exclusion.blocks in range mode) */
static int flat_blocks(const Ranges *r, int64_t lo, int64_t hi) {
    if (r == NULL) return 0;
    Py_ssize_t i = bisect_right(r->flat, r->len, lo);
    return i % 2 == 1 || (i < r->len && r->flat[i] < hi);
}

static int page_in(ExclusionObject *ex, PyObject *page) {
    return PySet_GET_SIZE(ex->pages) ? PySet_Contains(ex->pages, page) : 0;
}

static PyObject *Exclusion_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"by_range", NULL};
    int by_range;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "p", kwlist, &by_range)) return NULL;
    ExclusionObject *ex = (ExclusionObject *)type->tp_alloc(type, 0);
    if (ex == NULL) return NULL;
    ex->by_range = by_range;
    if ((ex->pages = PySet_New(NULL)) == NULL) {
        Py_DECREF(ex);
        return NULL;
    }
    return (PyObject *)ex;
}

static void Exclusion_dealloc(ExclusionObject *ex) {
    Py_XDECREF(ex->pages);
    for (Py_ssize_t p = 0; p < ex->n_ranges; p++) PyMem_Free(ex->ranges[p].flat);
    PyMem_Free(ex->ranges);
    PyMem_Free(ex->touched.data);
    Py_TYPE(ex)->tp_free((PyObject *)ex);
}

static int range_add(ExclusionObject *ex, int64_t page, int64_t lo, int64_t hi) {
    if (page < 0) {
        PyErr_SetString(PyExc_ValueError, "Exclusion.add: a page id is not negative");
        return -1;
    }
    if (page >= ex->n_ranges) {
        Py_ssize_t n = ex->n_ranges ? ex->n_ranges : 64;
        while (n <= page) n *= 2;
        Ranges *r = PyMem_Realloc(ex->ranges, n * sizeof(Ranges));
        if (r == NULL) { PyErr_NoMemory(); return -1; }
        memset(r + ex->n_ranges, 0, (n - ex->n_ranges) * sizeof(Ranges));
        ex->ranges = r;
        ex->n_ranges = n;
    }
    Ranges *r = &ex->ranges[page];
    if (r->len == 0 && push(&ex->touched, &page, 1) < 0) return -1;
    Py_ssize_t i = bisect_left(r->flat, r->len, lo), j = bisect_right(r->flat, r->len, hi);
    if (i % 2) lo = r->flat[--i];
    if (j % 2) hi = r->flat[j++];
    Py_ssize_t len = r->len - (j - i) + 2;
    if (len > r->cap) {
        Py_ssize_t cap = r->cap ? r->cap * 2 : 8;
        while (cap < len) cap *= 2;
        int64_t *flat = PyMem_Realloc(r->flat, cap * sizeof(int64_t));
        if (flat == NULL) { PyErr_NoMemory(); return -1; }
        r->flat = flat;
        r->cap = cap;
    }
    memmove(r->flat + i + 2, r->flat + j, (r->len - j) * sizeof(int64_t));
    r->flat[i] = lo;
    r->flat[i + 1] = hi;
    r->len = len;
    return 0;
}

static PyObject *Exclusion_add(ExclusionObject *ex, PyObject *const *args, Py_ssize_t nargs) {
    long long page, lo, hi;
    if (nargs != 3) return PyErr_Format(PyExc_TypeError, "add() takes 3 arguments (%zd given)", nargs);
    if (!ex->by_range) {
        if (PySet_Add(ex->pages, args[0]) < 0) return NULL;
        Py_RETURN_NONE;
    }
    if ((page = PyLong_AsLongLong(args[0])) == -1 && PyErr_Occurred()) return NULL;
    if ((lo = PyLong_AsLongLong(args[1])) == -1 && PyErr_Occurred()) return NULL;
    if ((hi = PyLong_AsLongLong(args[2])) == -1 && PyErr_Occurred()) return NULL;
    if (range_add(ex, page, lo, hi) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyObject *Exclusion_clear(ExclusionObject *ex, PyObject *unused) {
    if (PySet_GET_SIZE(ex->pages) && PySet_Clear(ex->pages) < 0) return NULL;
    for (Py_ssize_t k = 0; k < ex->touched.len; k++) ex->ranges[ex->touched.data[k]].len = 0;
    ex->touched.len = 0;
    Py_RETURN_NONE;
}

static PyObject *Exclusion_blocks(ExclusionObject *ex, PyObject *const *args, Py_ssize_t nargs) {
    int64_t page, lo, hi;
    if (nargs != 3) return PyErr_Format(PyExc_TypeError, "blocks() takes 3 arguments (%zd given)", nargs);
    if (!ex->by_range) {
        int in = page_in(ex, args[0]);
        return in < 0 ? NULL : PyBool_FromLong(in);
    }
    if (as_int(args[0], &page) < 0 || as_int(args[1], &lo) < 0 || as_int(args[2], &hi) < 0) return NULL;
    return PyBool_FromLong(flat_blocks(ranges_of(ex, page), lo, hi));
}

/* field ``k`` of a (page, offset) or (size, page, offset) entry */
static PyObject *field(PyObject *entry, Py_ssize_t k) {
    if (PyTuple_Check(entry) && k < PyTuple_GET_SIZE(entry)) return Py_NewRef(PyTuple_GET_ITEM(entry, k));
    return PySequence_GetItem(entry, k);
}

/* whether entry ``e`` of a pool's list ((page, offset) at field ``at``) is blocked for ``need`` bytes */
static int entry_blocked(ExclusionObject *ex, PyObject *e, Py_ssize_t at, int64_t need) {
    PyObject *page = field(e, at);
    if (page == NULL) return -1;
    if (!ex->by_range) {
        int in = page_in(ex, page);
        Py_DECREF(page);
        return in;
    }
    int64_t p, lo;
    int r = as_int(page, &p);
    Py_DECREF(page);
    PyObject *offset = r < 0 ? NULL : field(e, at + 1);
    if (offset == NULL) return -1;
    r = as_int(offset, &lo);
    Py_DECREF(offset);
    return r < 0 ? -1 : flat_blocks(ranges_of(ex, p), lo, lo + need);
}

static PyObject *Exclusion_last_free(ExclusionObject *ex, PyObject *const *args, Py_ssize_t nargs) {
    int64_t need;
    if (nargs != 2 || !PyList_Check(args[0]))
        return PyErr_Format(PyExc_TypeError, "last_free(slots, need) takes a list and an int");
    if (as_int(args[1], &need) < 0) return NULL;
    Py_ssize_t k = PyList_GET_SIZE(args[0]) - 1;
    for (; k >= 0; k--) {
        int b = entry_blocked(ex, PyList_GET_ITEM(args[0], k), 0, need);
        if (b < 0) return NULL;
        if (!b) break;
    }
    return PyLong_FromSsize_t(k);
}

static PyObject *Exclusion_first_free(ExclusionObject *ex, PyObject *const *args, Py_ssize_t nargs) {
    int64_t i, end, need;
    if (nargs != 4 || !PyList_Check(args[0]))
        return PyErr_Format(PyExc_TypeError, "first_free(blocks, i, end, need) takes a list and three ints");
    if (as_int(args[1], &i) < 0 || as_int(args[2], &end) < 0 || as_int(args[3], &need) < 0) return NULL;
    for (; i < end; i++) {
        if (i < 0 || i >= PyList_GET_SIZE(args[0])) {
            PyErr_SetString(PyExc_IndexError, "list index out of range");
            return NULL;
        }
        int b = entry_blocked(ex, PyList_GET_ITEM(args[0], i), 1, need);
        if (b < 0) return NULL;
        if (!b) break;
    }
    return PyLong_FromLongLong(i);
}

/* ``x`` rounded up to a multiple of ``alignment`` (offsets are not negative) */
static int align(int64_t x, int64_t alignment, int64_t *out) {
    if (alignment <= 0) {
        PyErr_Format(PyExc_ValueError, "first_fit: alignment %lld is not positive", (long long)alignment);
        return -1;
    }
    *out = x % alignment ? x + alignment - x % alignment : x;
    return 0;
}

static PyObject *Exclusion_first_fit(ExclusionObject *ex, PyObject *const *args, Py_ssize_t nargs) {
    int64_t page, lo, hi, need, alignment;
    if (nargs != 5) return PyErr_Format(PyExc_TypeError, "first_fit() takes 5 arguments (%zd given)", nargs);
    if (as_int(args[1], &lo) < 0 || as_int(args[2], &hi) < 0 || as_int(args[3], &need) < 0
        || as_int(args[4], &alignment) < 0)
        return NULL;
    if (!ex->by_range) {
        int in = page_in(ex, args[0]);
        if (in < 0) return NULL;
        return PyLong_FromLongLong(in || hi - lo < need ? -1 : lo);
    }
    if (as_int(args[0], &page) < 0) return NULL;
    int64_t x = lo;
    const Ranges *r = ranges_of(ex, page);
    if (r != NULL) {
        Py_ssize_t i = bisect_right(r->flat, r->len, x);
        if (i % 2) {
            if (align(r->flat[i], alignment, &x) < 0) return NULL;
            i++;
        }
        while (i < r->len && r->flat[i] < x + need) {
            if (align(r->flat[i + 1], alignment, &x) < 0) return NULL;
            i += 2;
        }
    }
    return PyLong_FromLongLong(x + need <= hi ? x : -1);
}

static PyMethodDef Exclusion_methods[] = {
    {"add", (PyCFunction)(void (*)(void))Exclusion_add, METH_FASTCALL, "add(page, lo, hi)"},
    {"clear", (PyCFunction)Exclusion_clear, METH_NOARGS, "clear()"},
    {"blocks", (PyCFunction)(void (*)(void))Exclusion_blocks, METH_FASTCALL, "blocks(page, lo, hi)"},
    {"last_free", (PyCFunction)(void (*)(void))Exclusion_last_free, METH_FASTCALL, "last_free(slots, need)"},
    {"first_free", (PyCFunction)(void (*)(void))Exclusion_first_free, METH_FASTCALL,
     "first_free(blocks, i, end, need)"},
    {"first_fit", (PyCFunction)(void (*)(void))Exclusion_first_fit, METH_FASTCALL,
     "first_fit(page, lo, hi, need, alignment)"},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef Exclusion_members[] = {
    {"by_range", T_BOOL, offsetof(ExclusionObject, by_range) , READONLY, "ranges (True) or whole pages"},
    {"pages", T_OBJECT, offsetof(ExclusionObject, pages), READONLY, "page mode: the pages"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject ExclusionType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "wgtrace.sim.planner._loop.Exclusion",
    .tp_basicsize = sizeof(ExclusionObject),
    .tp_dealloc = (destructor)Exclusion_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "sim/policies/exclusion.py's Exclusion, in C.",
    .tp_methods = Exclusion_methods,
    .tp_members = Exclusion_members,
    .tp_new = Exclusion_new,
};

/* -- Cache: sim/policies/runtimes/buffer_cache.py's whole-buffer caches, in C (tfjs, onnxruntime, tinygrad) ------ */

typedef struct {
    PyObject_HEAD
    PyObject *storage;
    int64_t key_round, size_round;   /* a request's key and made size rounded up to these (1: exact; size 0: key) */
    int64_t *buckets;                /* with limits: the bucket sizes, ascending (a key is the first that holds it) */
    Py_ssize_t n_buckets;
    PyObject *limits;                /* None, or most buffers kept per size (onnxruntime's Bucket mode) */
    int deferred;                    /* a freed buffer waits for the next submit */
    PyObject *free_lists;            /* key -> list of pages, the last freed last */
    Buf size_of, key_of, in_use;     /* per page id (-1: not the cache's) */
    Buf pending;
} CacheObject;

static int64_t round_up(int64_t x, int64_t r) { return r > 1 && x % r ? x + r - x % r : x; }

static int64_t cache_key(CacheObject *c, int64_t size) {
    if (c->buckets != NULL) {
        Py_ssize_t i = bisect_left(c->buckets, c->n_buckets, size);
        if (i < c->n_buckets) return c->buckets[i];
    }
    return round_up(size, c->key_round);
}

static int page_fields(CacheObject *c, int64_t page) {
    if (page < 0) {
        PyErr_SetString(PyExc_ValueError, "a page id is not negative");
        return -1;
    }
    while (c->size_of.len <= page) {
        int64_t none = -1, zero = 0;
        if (push(&c->size_of, &none, 1) < 0 || push(&c->key_of, &none, 1) < 0 || push(&c->in_use, &zero, 1) < 0)
            return -1;
    }
    return 0;
}

static int page_known(CacheObject *c, int64_t page) {
    if (page < 0 || page >= c->size_of.len || c->size_of.data[page] < 0) {
        PyErr_Format(PyExc_KeyError, "%lld", (long long)page);
        return 0;
    }
    return 1;
}

/* whether ``exclude`` blocks the first ``need`` bytes of ``page`` */
static int blocked(PyObject *exclude, PyObject *page_obj, int64_t page, int64_t need) {
    if (Py_TYPE(exclude) == &ExclusionType) {
        ExclusionObject *ex = (ExclusionObject *)exclude;
        return ex->by_range ? flat_blocks(ranges_of(ex, page), 0, need) : page_in(ex, page_obj);
    }
    PyObject *r = PyObject_CallMethod(exclude, "blocks", "OLL", page_obj, (long long)0, (long long)need);
    if (r == NULL) return -1;
    int b = PyObject_IsTrue(r);
    Py_DECREF(r);
    return b;
}

/* BufferCache.take: the most recently freed page of ``key`` that ``exclude`` allows, off its list; *page -1 if none */
static int cache_take(CacheObject *c, PyObject *key, int64_t size, PyObject *exclude, int64_t *page) {
    *page = -1;
    PyObject *stack = PyDict_GetItemWithError(c->free_lists, key);
    if (stack == NULL) return PyErr_Occurred() ? -1 : 0;
    Py_ssize_t k = PyList_GET_SIZE(stack) - 1;
    if (exclude != Py_None) {
        for (; k >= 0; k--) {
            PyObject *p = PyList_GET_ITEM(stack, k);
            int64_t id;
            if (as_int(p, &id) < 0) return -1;
            int b = blocked(exclude, p, id, size > 1 ? size : 1);
            if (b < 0) return -1;
            if (!b) break;
        }
    }
    if (k < 0) return 0;
    if (as_int(PyList_GET_ITEM(stack, k), page) < 0) return -1;
    return PyList_SetSlice(stack, k, k + 1, NULL);
}

static PyObject *Cache_reserve(CacheObject *c, PyObject *const *args, Py_ssize_t nargs) {
    int64_t size, page;
    if (nargs < 1 || nargs > 2) return PyErr_Format(PyExc_TypeError, "reserve(size, exclude=None)");
    if (as_int(args[0], &size) < 0) return NULL;
    PyObject *exclude = nargs > 1 ? args[1] : Py_None;
    int64_t key = cache_key(c, size);
    PyObject *key_obj = PyLong_FromLongLong(key);
    if (key_obj == NULL) return NULL;
    int r = cache_take(c, key_obj, size, exclude, &page);
    Py_DECREF(key_obj);
    if (r < 0) return NULL;
    if (page < 0) {
        int64_t made = c->size_round ? round_up(size, c->size_round) : key;
        PyObject *got = storage_call(c->storage, "alloc", made);
        if (got == NULL) return NULL;
        r = as_int(got, &page);
        Py_DECREF(got);
        if (r < 0 || page_fields(c, page) < 0) return NULL;
        c->size_of.data[page] = made;
        c->key_of.data[page] = key;
    }
    c->in_use.data[page] = 1;
    return Py_BuildValue("(LiL)", (long long)page, 0, (long long)c->size_of.data[page]);
}

static int append_page(PyObject *lists, int64_t key, int64_t page) {
    PyObject *key_obj = PyLong_FromLongLong(key), *page_obj = PyLong_FromLongLong(page);
    int r = -1;
    if (key_obj != NULL && page_obj != NULL) {
        PyObject *stack = PyDict_GetItemWithError(lists, key_obj);
        if (stack == NULL && !PyErr_Occurred()) {
            stack = PyList_New(0);
            if (stack != NULL && PyDict_SetItem(lists, key_obj, stack) == 0) r = PyList_Append(stack, page_obj);
            Py_XDECREF(stack);
        } else if (stack != NULL) {
            r = PyList_Append(stack, page_obj);
        }
    }
    Py_XDECREF(key_obj);
    Py_XDECREF(page_obj);
    return r;
}

static PyObject *Cache_free(CacheObject *c, PyObject *const *args, Py_ssize_t nargs) {
    int64_t page;
    if (nargs != 2) return PyErr_Format(PyExc_TypeError, "free(page, offset)");
    if (as_int(args[0], &page) < 0) return NULL;
    if (!page_known(c, page)) return NULL;
    c->in_use.data[page] = 0;
    if (c->deferred ? push(&c->pending, &page, 1) < 0 : append_page(c->free_lists, c->key_of.data[page], page) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* PendingCache.submitted: the held pages join their size's list (within its limit), or go back to the device */
static PyObject *Cache_submitted(CacheObject *c, PyObject *unused) {
    for (Py_ssize_t k = 0; k < c->pending.len; k++) {
        int64_t page = c->pending.data[k], size = c->size_of.data[page], limit = 0;
        PyObject *size_obj = PyLong_FromLongLong(size);
        if (size_obj == NULL) return NULL;
        PyObject *kept = PyDict_GetItemWithError(c->free_lists, size_obj);
        if (kept == NULL && PyErr_Occurred()) {
            Py_DECREF(size_obj);
            return NULL;
        }
        Py_ssize_t n_kept = kept != NULL ? PyList_GET_SIZE(kept) : 0;
        if (c->limits != Py_None) {
            PyObject *l = PyDict_GetItemWithError(c->limits, size_obj);
            if ((l == NULL && PyErr_Occurred()) || (l != NULL && as_int(l, &limit) < 0)) {
                Py_DECREF(size_obj);
                return NULL;
            }
        }
        Py_DECREF(size_obj);
        if (c->limits == Py_None || n_kept < limit) {
            if (append_page(c->free_lists, size, page) < 0) return NULL;
        } else {
            PyObject *r = storage_call(c->storage, "dealloc", page);
            if (r == NULL) return NULL;
            Py_DECREF(r);
            c->size_of.data[page] = c->key_of.data[page] = -1;
        }
    }
    c->pending.len = 0;
    Py_RETURN_NONE;
}

static PyObject *Cache_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"storage", "key_round", "size_round", "buckets", "limits", "deferred", NULL};
    PyObject *storage, *buckets, *limits;
    long long key_round, size_round;
    int deferred;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OLLOOp", kwlist, &storage, &key_round, &size_round, &buckets,
                                     &limits, &deferred))
        return NULL;
    if (limits != Py_None && !PyDict_Check(limits)) return PyErr_Format(PyExc_TypeError, "limits: a dict or None");
    CacheObject *c = (CacheObject *)type->tp_alloc(type, 0);
    if (c == NULL) return NULL;
    c->storage = Py_NewRef(storage);
    c->limits = Py_NewRef(limits);
    c->key_round = key_round;
    c->size_round = size_round;
    c->deferred = deferred;
    if ((c->free_lists = PyDict_New()) == NULL) goto error;
    if (buckets != Py_None) {
        PyObject *seq = PySequence_Fast(buckets, "buckets: a sequence of sizes");
        if (seq == NULL) goto error;
        c->n_buckets = PySequence_Fast_GET_SIZE(seq);
        c->buckets = PyMem_Malloc((c->n_buckets + 1) * sizeof(int64_t));
        for (Py_ssize_t k = 0; c->buckets != NULL && k < c->n_buckets; k++)
            if (as_int(PySequence_Fast_GET_ITEM(seq, k), &c->buckets[k]) < 0) {
                Py_DECREF(seq);
                goto error;
            }
        Py_DECREF(seq);
        if (c->buckets == NULL) {
            PyErr_NoMemory();
            goto error;
        }
    }
    return (PyObject *)c;
error:
    Py_DECREF(c);
    return NULL;
}

/* the caches hold their storage, the planner's emitter, which holds them: a cycle the collector must see */
static int Cache_traverse(CacheObject *c, visitproc visit, void *arg) {
    Py_VISIT(c->storage);
    Py_VISIT(c->limits);
    Py_VISIT(c->free_lists);
    return 0;
}

static int Cache_clear(CacheObject *c) {
    Py_CLEAR(c->storage);
    Py_CLEAR(c->limits);
    Py_CLEAR(c->free_lists);
    return 0;
}

static void Cache_dealloc(CacheObject *c) {
    PyObject_GC_UnTrack(c);
    Cache_clear(c);
    PyMem_Free(c->buckets);
    PyMem_Free(c->size_of.data);
    PyMem_Free(c->key_of.data);
    PyMem_Free(c->in_use.data);
    PyMem_Free(c->pending.data);
    Py_TYPE(c)->tp_free((PyObject *)c);
}

static PyMethodDef Cache_methods[] = {
    {"reserve", (PyCFunction)(void (*)(void))Cache_reserve, METH_FASTCALL, "reserve(size, exclude=None)"},
    {"free", (PyCFunction)(void (*)(void))Cache_free, METH_FASTCALL, "free(page, offset)"},
    {"submitted", (PyCFunction)Cache_submitted, METH_NOARGS, "submitted()"},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef Cache_members[] = {
    {"free_lists", T_OBJECT, offsetof(CacheObject, free_lists), READONLY, "key -> free pages, the last freed last"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject CacheType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "wgtrace.sim.planner._loop.Cache",
    .tp_basicsize = sizeof(CacheObject),
    .tp_dealloc = (destructor)Cache_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)Cache_traverse,
    .tp_clear = (inquiry)Cache_clear,
    .tp_doc = "sim/policies/runtimes/buffer_cache.py's caches, in C.",
    .tp_methods = Cache_methods,
    .tp_members = Cache_members,
    .tp_new = Cache_new,
};

/* -- Caching: sim/policies/runtimes/torch_caching.py's CachingAllocator, in C -------------------------------------- */

enum { MIN_BLOCK = 512 };
static const int64_t SMALL_SIZE = 1 << 20, SMALL_BUFFER = 2 << 20, LARGE_BUFFER = 20 << 20,
                     MIN_LARGE_ALLOC = 10 << 20, ROUND_LARGE = 2 << 20;

typedef struct {
    Buf offset, size, used;  /* the segment's blocks in address order */
    int small, made;
} Segment;

typedef struct {
    PyObject_HEAD
    PyObject *storage;
    int64_t alignment, max_split, divisions;  /* max_split -1: unlimited */
    Segment *segments;                        /* per page id */
    Py_ssize_t n_segments;
    Buf free_blocks[2];                       /* large, small: (size, page, offset) triples, ascending */
} CachingObject;

static int bit_length(int64_t x) { return x > 0 ? 64 - __builtin_clzll((unsigned long long)x) : 0; }

static int64_t round_size(int64_t size, int64_t divisions) {
    if (size < MIN_BLOCK) return MIN_BLOCK;
    if (divisions > 1 && size > MIN_BLOCK * divisions) {
        if ((size & (size - 1)) == 0) return size;
        int64_t floor = (int64_t)1 << (bit_length(size) - 1), step = floor >> (bit_length(divisions) - 1);
        if (step == 0) return floor << 1;
        int64_t low = size & ~(step - 1);
        return low == size ? size : low + step;
    }
    return round_up(size, MIN_BLOCK);
}

static int64_t allocation_size(int64_t size) {
    if (size <= SMALL_SIZE) return SMALL_BUFFER;
    if (size < MIN_LARGE_ALLOC) return LARGE_BUFFER;
    return round_up(size, ROUND_LARGE);
}

static int triple_less(const int64_t *a, const int64_t *b) {
    return a[0] != b[0] ? a[0] < b[0] : a[1] != b[1] ? a[1] < b[1] : a[2] < b[2];
}

static Py_ssize_t triple_bisect(const Buf *list, const int64_t *key) {
    Py_ssize_t lo = 0, hi = list->len / 3;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        if (triple_less(list->data + 3 * mid, key)) lo = mid + 1; else hi = mid;
    }
    return lo;
}

static int triple_insert(Buf *list, int64_t size, int64_t page, int64_t offset) {
    int64_t t[3] = {size, page, offset};
    Py_ssize_t i = triple_bisect(list, t);
    if (grow(list, 3) < 0) return -1;
    memmove(list->data + 3 * i + 3, list->data + 3 * i, (list->len - 3 * i) * sizeof(int64_t));
    memcpy(list->data + 3 * i, t, sizeof t);
    list->len += 3;
    return 0;
}

static void triple_delete(Buf *list, Py_ssize_t i) {
    memmove(list->data + 3 * i, list->data + 3 * i + 3, (list->len - 3 * i - 3) * sizeof(int64_t));
    list->len -= 3;
}

static int triple_remove(Buf *list, int64_t size, int64_t page, int64_t offset) {
    int64_t t[3] = {size, page, offset};
    Py_ssize_t i = triple_bisect(list, t);
    if (3 * i >= list->len || memcmp(list->data + 3 * i, t, sizeof t)) {
        PyErr_SetString(PyExc_ValueError, "list.remove(x): x not in list");
        return -1;
    }
    triple_delete(list, i);
    return 0;
}

static int block_insert(Segment *seg, Py_ssize_t i, int64_t offset, int64_t size, int64_t used) {
    if (grow(&seg->offset, 1) < 0 || grow(&seg->size, 1) < 0 || grow(&seg->used, 1) < 0) return -1;
    Buf *cols[3] = {&seg->offset, &seg->size, &seg->used};
    int64_t values[3] = {offset, size, used};
    for (int k = 0; k < 3; k++) {
        Buf *b = cols[k];
        memmove(b->data + i + 1, b->data + i, (b->len - i) * sizeof(int64_t));
        b->data[i] = values[k];
        b->len++;
    }
    return 0;
}

static void block_delete(Segment *seg, Py_ssize_t i) {
    Buf *cols[3] = {&seg->offset, &seg->size, &seg->used};
    for (int k = 0; k < 3; k++) {
        memmove(cols[k]->data + i, cols[k]->data + i + 1, (cols[k]->len - i - 1) * sizeof(int64_t));
        cols[k]->len--;
    }
}

/* whether ``exclude`` blocks bytes [lo, hi) of ``page`` */
static int blocked_range(PyObject *exclude, int64_t page, int64_t lo, int64_t hi) {
    if (Py_TYPE(exclude) == &ExclusionType) {
        ExclusionObject *ex = (ExclusionObject *)exclude;
        if (ex->by_range) return flat_blocks(ranges_of(ex, page), lo, hi);
        if (!PySet_GET_SIZE(ex->pages)) return 0;
        PyObject *p = PyLong_FromLongLong(page);
        if (p == NULL) return -1;
        int in = PySet_Contains(ex->pages, p);
        Py_DECREF(p);
        return in;
    }
    PyObject *r = PyObject_CallMethod(exclude, "blocks", "LLL", (long long)page, (long long)lo, (long long)hi);
    if (r == NULL) return -1;
    int b = PyObject_IsTrue(r);
    Py_DECREF(r);
    return b;
}

/* CachingAllocator.best_fit: the index of the block to take in free list ``list`` (its length / 3: none) */
static int best_fit(CachingObject *c, Buf *list, int64_t rounded, PyObject *exclude, Py_ssize_t *at) {
    int64_t key[3] = {rounded, -1, -1};
    Py_ssize_t i = triple_bisect(list, key), end = list->len / 3;
    if (c->max_split >= 0) {
        int64_t bound[3] = {rounded < c->max_split ? c->max_split : rounded + LARGE_BUFFER, -1, -1};
        end = triple_bisect(list, bound);
    }
    for (; exclude != Py_None && i < end; i++) {
        const int64_t *t = list->data + 3 * i;
        int b = blocked_range(exclude, t[1], t[2], t[2] + rounded);
        if (b < 0) return -1;
        if (!b) break;
    }
    *at = i < end ? i : list->len / 3;
    return 0;
}

static Segment *segment_of(CachingObject *c, int64_t page) {
    if (page < 0 || page >= c->n_segments || !c->segments[page].made) {
        PyErr_Format(PyExc_KeyError, "%lld", (long long)page);
        return NULL;
    }
    return &c->segments[page];
}

static Segment *new_segment(CachingObject *c, int64_t page, int64_t size, int small) {
    if (page < 0) {
        PyErr_SetString(PyExc_ValueError, "a page id is not negative");
        return NULL;
    }
    if (page >= c->n_segments) {
        Py_ssize_t n = c->n_segments ? c->n_segments : 64;
        while (n <= page) n *= 2;
        Segment *s = PyMem_Realloc(c->segments, n * sizeof(Segment));
        if (s == NULL) return (Segment *)PyErr_NoMemory();
        memset(s + c->n_segments, 0, (n - c->n_segments) * sizeof(Segment));
        c->segments = s;
        c->n_segments = n;
    }
    Segment *seg = &c->segments[page];
    seg->made = 1;
    seg->small = small;
    return block_insert(seg, 0, 0, size, 0) < 0 ? NULL : seg;
}

static Py_ssize_t block_at(Segment *seg, int64_t offset) {
    Py_ssize_t i = bisect_left(seg->offset.data, seg->offset.len, offset);
    if (i >= seg->offset.len || seg->offset.data[i] != offset) {
        PyErr_Format(PyExc_KeyError, "no block at offset %lld", (long long)offset);
        return -1;
    }
    return i;
}

static PyObject *Caching_reserve(CachingObject *c, PyObject *const *args, Py_ssize_t nargs) {
    int64_t size, page, offset;
    if (nargs < 1 || nargs > 2) return PyErr_Format(PyExc_TypeError, "reserve(size, exclude=None)");
    if (as_int(args[0], &size) < 0) return NULL;
    PyObject *exclude = nargs > 1 ? args[1] : Py_None;
    int64_t rounded = round_up(round_size(size, c->divisions), c->alignment);
    int small = rounded <= SMALL_SIZE;
    Buf *list = &c->free_blocks[small];
    Py_ssize_t i;
    Segment *seg;
    if (best_fit(c, list, rounded, exclude, &i) < 0) return NULL;
    if (i < list->len / 3) {
        page = list->data[3 * i + 1];
        offset = list->data[3 * i + 2];
        triple_delete(list, i);
        if ((seg = segment_of(c, page)) == NULL) return NULL;
    } else {
        int64_t made = allocation_size(rounded);
        PyObject *got = storage_call(c->storage, "alloc", made);
        if (got == NULL) return NULL;
        int r = as_int(got, &page);
        Py_DECREF(got);
        if (r < 0 || (seg = new_segment(c, page, made, small)) == NULL) return NULL;
        offset = 0;
    }
    Py_ssize_t k = block_at(seg, offset);
    if (k < 0) return NULL;
    int64_t remaining = seg->size.data[k] - rounded;
    int split = small ? remaining >= MIN_BLOCK : (c->max_split < 0 || rounded < c->max_split) && remaining > SMALL_SIZE;
    if (split) {
        seg->size.data[k] = rounded;
        if (block_insert(seg, k + 1, offset + rounded, remaining, 0) < 0
            || triple_insert(&c->free_blocks[seg->small], remaining, page, offset + rounded) < 0)
            return NULL;
    }
    seg->used.data[k] = 1;
    return Py_BuildValue("(LLL)", (long long)page, (long long)offset, (long long)seg->size.data[k]);
}

static PyObject *Caching_free(CachingObject *c, PyObject *const *args, Py_ssize_t nargs) {
    int64_t page, offset;
    if (nargs != 2) return PyErr_Format(PyExc_TypeError, "free(page, offset)");
    if (as_int(args[0], &page) < 0 || as_int(args[1], &offset) < 0) return NULL;
    Segment *seg = segment_of(c, page);
    if (seg == NULL) return NULL;
    Py_ssize_t i = block_at(seg, offset);
    if (i < 0) return NULL;
    Buf *list = &c->free_blocks[seg->small];
    int64_t *size = seg->size.data, *used = seg->used.data, *off = seg->offset.data;
    used[i] = 0;
    if (i + 1 < seg->offset.len && !used[i + 1]) {
        if (triple_remove(list, size[i + 1], page, off[i + 1]) < 0) return NULL;
        size[i] += size[i + 1];
        block_delete(seg, i + 1);
    }
    if (i > 0 && !used[i - 1]) {
        if (triple_remove(list, size[i - 1], page, off[i - 1]) < 0) return NULL;
        size[i - 1] += size[i];
        block_delete(seg, i);
        i--;
    }
    if (triple_insert(list, size[i], page, off[i]) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyObject *Caching_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"storage", "alignment", "max_split_size", "divisions", NULL};
    PyObject *storage, *max_split;
    long long alignment, divisions;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OLOL", kwlist, &storage, &alignment, &max_split, &divisions))
        return NULL;
    if (alignment <= 0) return PyErr_Format(PyExc_ValueError, "alignment must be positive");
    CachingObject *c = (CachingObject *)type->tp_alloc(type, 0);
    if (c == NULL) return NULL;
    c->storage = Py_NewRef(storage);
    c->alignment = alignment;
    c->divisions = divisions;
    c->max_split = -1;
    if (max_split != Py_None && as_int(max_split, &c->max_split) < 0) {
        Py_DECREF(c);
        return NULL;
    }
    return (PyObject *)c;
}

static int Caching_traverse(CachingObject *c, visitproc visit, void *arg) {
    Py_VISIT(c->storage);
    return 0;
}

static int Caching_clear(CachingObject *c) {
    Py_CLEAR(c->storage);
    return 0;
}

static void Caching_dealloc(CachingObject *c) {
    PyObject_GC_UnTrack(c);
    Caching_clear(c);
    for (Py_ssize_t p = 0; p < c->n_segments; p++) {
        PyMem_Free(c->segments[p].offset.data);
        PyMem_Free(c->segments[p].size.data);
        PyMem_Free(c->segments[p].used.data);
    }
    PyMem_Free(c->segments);
    PyMem_Free(c->free_blocks[0].data);
    PyMem_Free(c->free_blocks[1].data);
    Py_TYPE(c)->tp_free((PyObject *)c);
}

static PyMethodDef Caching_methods[] = {
    {"reserve", (PyCFunction)(void (*)(void))Caching_reserve, METH_FASTCALL, "reserve(size, exclude=None)"},
    {"free", (PyCFunction)(void (*)(void))Caching_free, METH_FASTCALL, "free(page, offset)"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject CachingType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "wgtrace.sim.planner._loop.Caching",
    .tp_basicsize = sizeof(CachingObject),
    .tp_dealloc = (destructor)Caching_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)Caching_traverse,
    .tp_clear = (inquiry)Caching_clear,
    .tp_doc = "sim/policies/runtimes/torch_caching.py's CachingAllocator, in C.",
    .tp_methods = Caching_methods,
    .tp_new = Caching_new,
};

/* -- Managed: sim/policies/pools.py's MemoryManagement over exclusive, first-fit sliced and own-page pools, in C --- */

enum { P_EXCLUSIVE, P_SLICED, P_OWN, P_SIZE_CLASS, P_RING, P_SMALL };
#define NEVER ((int64_t)1 << 62)

typedef struct {
    Buf start, length;  /* free slices, in address order */
    Buf offset, size;   /* used slices, in address order */
} Slices;

typedef struct {
    int kind;
    int64_t max_alloc, alignment, check_period, due;  /* exclusive; alignment: every kind */
    double cur_avg;
    Buf free_pages;                                   /* exclusive: free page ids, in no order */
    int64_t page_size, max_slice, min_offset;         /* sliced */
    int near_full;
    Buf pages;                                        /* sliced, size-class: page ids, in creation order */
    int64_t dealloc_period, min_page_size, slots_per_page, alloc_nr;  /* size-class; max_slice, page_size too */
    Buf slots[64];                                    /* size-class: per bucket (log2), free (page, offset) pairs */
    int64_t carve_page[64], carve_at[64];             /* size-class: the page a bucket carves, its next offset */
    int64_t cursor_page, cursor_at;                   /* ring (PR 56's next fit): where the next search starts */
    Buf ring;                                         /* small: its chunks, in creation order */
    Py_ssize_t ring_at;                               /* small: the chunk the next search starts at */
} MPool;

typedef struct {
    Buf offset, size, used;  /* slices in address order, free ones merged lazily (RingPage) */
    Py_ssize_t first_free;
} Ring;

typedef struct {
    int pool;                          /* -1: no page of this manager */
    int64_t alloc_size, free_count, in_use;  /* size-class: in_use counts the page's slots, free_count is its bucket */
    int64_t empty_since;                     /* size-class: the pool's reservation count when in_use fell to 0 */
    Py_ssize_t free_at;                /* exclusive: its place in free_pages, -1 when in use */
    Slices *slices;                    /* sliced */
    Ring *ring;                        /* ring */
} MPage;

typedef struct {
    PyObject_HEAD
    PyObject *storage;
    MPool *pools;
    int n_pools;
    Buf cleaning;
    int64_t alloc_nr, due;
    MPage *pages;
    Py_ssize_t n_pages;
} ManagedObject;

static int64_t padding_of(int64_t size, int64_t alignment) {
    return size % alignment ? alignment - size % alignment : 0;
}

static MPage *mpage(ManagedObject *m, int64_t page, int create) {
    if (page < 0 || (page >= m->n_pages && !create)) goto missing;
    if (page >= m->n_pages) {
        Py_ssize_t n = m->n_pages ? m->n_pages : 64;
        while (n <= page) n *= 2;
        MPage *p = PyMem_Realloc(m->pages, n * sizeof(MPage));
        if (p == NULL) return (MPage *)PyErr_NoMemory();
        for (Py_ssize_t k = m->n_pages; k < n; k++) {
            memset(&p[k], 0, sizeof(MPage));
            p[k].pool = -1;
            p[k].free_at = -1;
        }
        m->pages = p;
        m->n_pages = n;
    }
    if (!create && m->pages[page].pool < 0) goto missing;
    return &m->pages[page];
missing:
    PyErr_Format(PyExc_KeyError, "%lld", (long long)page);
    return NULL;
}

static int storage_alloc(ManagedObject *m, int64_t size, int64_t *page) {
    PyObject *got = storage_call(m->storage, "alloc", size);
    if (got == NULL) return -1;
    int r = as_int(got, page);
    Py_DECREF(got);
    return r;
}

static int storage_dealloc(ManagedObject *m, int64_t page) {
    PyObject *r = storage_call(m->storage, "dealloc", page);
    if (r == NULL) return -1;
    Py_DECREF(r);
    return 0;
}

static int page_blocked(ExclusionObject *ex, int64_t page) {
    if (!PySet_GET_SIZE(ex->pages)) return 0;
    PyObject *p = PyLong_FromLongLong(page);
    if (p == NULL) return -1;
    int in = PySet_Contains(ex->pages, p);
    Py_DECREF(p);
    return in;
}

/* Exclusion.first_fit; *at -1 when nothing fits */
static int ex_first_fit(ExclusionObject *ex, int64_t page, int64_t lo, int64_t hi, int64_t need, int64_t alignment,
                        int64_t *at) {
    if (!ex->by_range) {
        int in = page_blocked(ex, page);
        if (in < 0) return -1;
        *at = in || hi - lo < need ? -1 : lo;
        return 0;
    }
    int64_t x = lo;
    const Ranges *r = ranges_of(ex, page);
    if (r != NULL) {
        Py_ssize_t i = bisect_right(r->flat, r->len, x);
        if (i % 2) {
            if (align(r->flat[i], alignment, &x) < 0) return -1;
            i++;
        }
        while (i < r->len && r->flat[i] < x + need) {
            if (align(r->flat[i + 1], alignment, &x) < 0) return -1;
            i += 2;
        }
    }
    *at = x + need <= hi ? x : -1;
    return 0;
}

static int buf_insert(Buf *b, Py_ssize_t i, int64_t v) {
    if (grow(b, 1) < 0) return -1;
    memmove(b->data + i + 1, b->data + i, (b->len - i) * sizeof(int64_t));
    b->data[i] = v;
    b->len++;
    return 0;
}

static void buf_delete(Buf *b, Py_ssize_t i) {
    memmove(b->data + i, b->data + i + 1, (b->len - i - 1) * sizeof(int64_t));
    b->len--;
}

/* CoalescedPage.take: bytes [at, at + need) of free slice k used; what is left on each side stays free */
static int slices_take(Slices *s, Py_ssize_t k, int64_t at, int64_t need) {
    int64_t start = s->start.data[k], end = start + s->length.data[k];
    Py_ssize_t u = bisect_left(s->offset.data, s->offset.len, at);
    if (buf_insert(&s->offset, u, at) < 0 || buf_insert(&s->size, u, need) < 0) return -1;
    if (at > start) {
        s->length.data[k] = at - start;
        k++;
    } else {
        buf_delete(&s->start, k);
        buf_delete(&s->length, k);
    }
    if (at + need < end && (buf_insert(&s->start, k, at + need) < 0 || buf_insert(&s->length, k, end - at - need) < 0))
        return -1;
    return 0;
}

/* CoalescedPage.release: the used slice at ``offset`` is free again, merged with free neighbours */
static int slices_release(Slices *s, int64_t offset) {
    Py_ssize_t u = bisect_left(s->offset.data, s->offset.len, offset);
    if (u >= s->offset.len || s->offset.data[u] != offset) {
        PyErr_Format(PyExc_KeyError, "%lld", (long long)offset);
        return -1;
    }
    int64_t start = offset, end = offset + s->size.data[u];
    buf_delete(&s->offset, u);
    buf_delete(&s->size, u);
    Py_ssize_t j = bisect_left(s->start.data, s->start.len, end);
    if (j < s->start.len && s->start.data[j] == end) {
        end += s->length.data[j];
        buf_delete(&s->start, j);
        buf_delete(&s->length, j);
    }
    j = bisect_left(s->start.data, s->start.len, offset) - 1;
    if (j >= 0 && s->start.data[j] + s->length.data[j] == offset) {
        s->length.data[j] = end - s->start.data[j];
        return 0;
    }
    j++;
    return buf_insert(&s->start, j, start) < 0 || buf_insert(&s->length, j, end - start) < 0 ? -1 : 0;
}


static int cmp_int64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t bucket_of(MPool *p, int64_t size) {
    int64_t b = (int64_t)1 << bit_length(size > 1 ? size - 1 : 0);
    return b > p->alignment ? b : p->alignment;
}

static int sc_use(ManagedObject *m, int64_t page, int64_t offset, int64_t b, int64_t got[3]) {
    MPage *e = &m->pages[page];
    e->in_use++;
    e->empty_since = -1;
    got[0] = page, got[1] = offset, got[2] = b;
    return 0;
}

/* SizeClassPool.try_reserve: the last freed slot of the bucket the exclusion lets through, else a slot not cut yet */
static int sc_try(ManagedObject *m, MPool *p, int64_t size, ExclusionObject *ex, int64_t got[3]) {
    p->alloc_nr++;
    int64_t b = bucket_of(p, size), need = size > 1 ? size : 1;
    int level = bit_length(b) - 1;
    Buf *stack = &p->slots[level];
    Py_ssize_t k = stack->len / 2 - 1;
    for (; ex != NULL && k >= 0; k--) {
        int64_t page = stack->data[2 * k], lo = stack->data[2 * k + 1];
        int blocks = ex->by_range ? flat_blocks(ranges_of(ex, page), lo, lo + need) : page_blocked(ex, page);
        if (blocks < 0) return -1;
        if (!blocks) break;
    }
    if (k >= 0) {
        int64_t page = stack->data[2 * k], offset = stack->data[2 * k + 1];
        memmove(stack->data + 2 * k, stack->data + 2 * k + 2, (stack->len - 2 * k - 2) * sizeof(int64_t));
        stack->len -= 2;
        return sc_use(m, page, offset, b, got);
    }
    int64_t page = p->carve_page[level], at = p->carve_at[level];
    if (page < 0 || at + b > m->pages[page].alloc_size) return 0;
    if (ex != NULL) {
        int blocks = ex->by_range ? flat_blocks(ranges_of(ex, page), at, at + b) : page_blocked(ex, page);
        if (blocks < 0) return -1;
        if (blocks) return 0;
    }
    p->carve_at[level] = at + b;
    return sc_use(m, page, at, b, got);
}

static int sc_alloc(ManagedObject *m, int index, int64_t size, int64_t got[3]) {
    MPool *p = &m->pools[index];
    int64_t b = bucket_of(p, size), page, made = b;
    if (b <= p->max_slice) {
        made = b * p->slots_per_page > p->min_page_size ? b * p->slots_per_page : p->min_page_size;
        made = made < p->page_size ? made : p->page_size;
    }
    MPage *e;
    if (storage_alloc(m, made, &page) < 0 || (e = mpage(m, page, 1)) == NULL || push(&p->pages, &page, 1) < 0)
        return -1;
    e->pool = index;
    e->alloc_size = made;
    e->in_use = 0;
    e->free_count = b;  /* size-class: the page's bucket */
    if (b <= p->max_slice) {
        p->carve_page[bit_length(b) - 1] = page;
        p->carve_at[bit_length(b) - 1] = b;
    }
    return sc_use(m, page, 0, b, got);
}

static int sc_free(ManagedObject *m, MPool *p, int64_t page, int64_t offset) {
    MPage *e = &m->pages[page];
    int64_t pair[2] = {page, offset};
    if (push(&p->slots[bit_length(e->free_count) - 1], pair, 2) < 0) return -1;
    if (--e->in_use == 0) e->empty_since = p->alloc_nr;
    return 0;
}

/* SizeClassPool.cleanup: pages empty for dealloc_period reservations, but the ones being carved, go back */
static int sc_cleanup(ManagedObject *m, MPool *p, int64_t alloc_nr) {
    if (alloc_nr < p->due) return 0;
    p->due = alloc_nr + p->check_period;
    int any = 0;
    for (Py_ssize_t k = 0; k < p->pages.len; k++) {
        int64_t page = p->pages.data[k];
        MPage *e = &m->pages[page];
        int carving = 0;
        for (int l = 0; l < 64 && !carving; l++) carving = p->carve_page[l] == page;
        if (e->pool >= 0 && e->empty_since >= 0 && alloc_nr - e->empty_since >= p->dealloc_period && !carving) {
            e->pool = -2;  /* gone, given back below in ascending order */
            any = 1;
        }
    }
    if (!any) return 0;
    Buf kept = {0};
    int64_t *order = PyMem_Malloc((p->pages.len + 1) * sizeof(int64_t));
    Py_ssize_t n = 0;
    if (order == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t k = 0; k < p->pages.len; k++) {
        int64_t page = p->pages.data[k];
        if (m->pages[page].pool == -2) order[n++] = page;
        else if (push(&kept, &page, 1) < 0) goto error;
    }
    qsort(order, n, sizeof(int64_t), cmp_int64);
    for (Py_ssize_t k = 0; k < n; k++)
        if (storage_dealloc(m, order[k]) < 0) goto error;
    for (int l = 0; l < 64; l++) {
        Buf *stack = &p->slots[l];
        Py_ssize_t w = 0;
        for (Py_ssize_t r = 0; r < stack->len; r += 2) {
            if (m->pages[stack->data[r]].pool == -2) continue;
            stack->data[w] = stack->data[r];
            stack->data[w + 1] = stack->data[r + 1];
            w += 2;
        }
        stack->len = w;
    }
    for (Py_ssize_t k = 0; k < n; k++) m->pages[order[k]].pool = -1;
    PyMem_Free(p->pages.data);
    p->pages = kept;
    PyMem_Free(order);
    return 0;
error:
    PyMem_Free(order);
    PyMem_Free(kept.data);
    return -1;
}


/* RingPage.merge_next: slice i takes in the slice after it when both are free */
static int ring_merge_next(Ring *r, Py_ssize_t i) {
    if (i + 1 < r->used.len && !r->used.data[i + 1]) {
        r->size.data[i] += r->size.data[i + 1];
        buf_delete(&r->offset, i + 1);
        buf_delete(&r->size, i + 1);
        buf_delete(&r->used, i + 1);
        return 1;
    }
    return 0;
}

static int ring_insert(Ring *r, Py_ssize_t i, int64_t offset, int64_t size, int64_t used) {
    return buf_insert(&r->offset, i, offset) < 0 || buf_insert(&r->size, i, size) < 0
           || buf_insert(&r->used, i, used) < 0 ? -1 : 0;
}

/* RingPage.take */
static int ring_take(Ring *r, Py_ssize_t i, int64_t at, int64_t need) {
    int64_t start = r->offset.data[i], size = r->size.data[i];
    if (at > start) {
        r->size.data[i] = at - start;
        if (ring_insert(r, ++i, at, need, 1) < 0) return -1;
    } else {
        r->size.data[i] = need;
        r->used.data[i] = 1;
    }
    int64_t rest = start + size - at - need;
    if (rest && ring_insert(r, i + 1, at + need, rest, 0) < 0) return -1;
    while (r->first_free < r->used.len && r->used.data[r->first_free]) r->first_free++;
    return 0;
}

/* RingPage.find: the first free slice from position i that holds ``need`` bytes; *i -1 if none */
static int ring_find(Ring *r, int64_t id, Py_ssize_t *i, int64_t need, ExclusionObject *ex, int64_t alignment,
                     int64_t *at) {
    Py_ssize_t k = *i > r->first_free ? *i : r->first_free;
    for (; k < r->used.len; k++) {
        if (r->used.data[k]) continue;
        while (r->size.data[k] < need && ring_merge_next(r, k)) {}
        if (r->size.data[k] < need) continue;
        *at = r->offset.data[k];
        if (ex != NULL) {
            for (;;) {
                int64_t lo = r->offset.data[k];
                if (ex_first_fit(ex, id, lo, lo + r->size.data[k], need, alignment, at) < 0) return -1;
                if (*at >= 0 || !ring_merge_next(r, k)) break;
            }
            if (*at < 0) continue;
        }
        *i = k;
        return 0;
    }
    *i = -1;
    return 0;
}

/* SlicedPool._next_fit: PR 56's ring walk over pages [first, end), from the slice at ``offset`` in the first */
static int ring_walk(ManagedObject *m, MPool *p, Py_ssize_t first, Py_ssize_t end, int64_t offset, int64_t need,
                     ExclusionObject *ex, int64_t got[3]) {
    if (end > p->pages.len) end = p->pages.len;
    for (Py_ssize_t q = first; q < end; q++) {
        int64_t page = p->pages.data[q];
        if (ex != NULL && !ex->by_range) {
            int in = page_blocked(ex, page);
            if (in < 0) return -1;
            if (in) continue;
        }
        Ring *r = m->pages[page].ring;
        Py_ssize_t i = q == first ? bisect_left(r->offset.data, r->offset.len, offset) : 0;
        if (q != first || (i < r->offset.len && r->offset.data[i] == offset)) {
            int64_t at;
            if (ring_find(r, page, &i, need, ex, p->alignment, &at) < 0) return -1;
            if (i >= 0) {
                if (ring_take(r, i, at, need) < 0) return -1;
                p->cursor_page = q;
                p->cursor_at = at + need;
                got[0] = page, got[1] = at, got[2] = need;
                return 0;
            }
        }
        p->cursor_page = q;
        p->cursor_at = 0;
    }
    return 0;
}

static int ring_try(ManagedObject *m, MPool *p, int64_t size, ExclusionObject *ex, int64_t got[3]) {
    if (size < p->min_offset) return 0;
    int64_t need = size + padding_of(size, p->alignment), first = p->cursor_page;
    if (ring_walk(m, p, first, p->pages.len, p->cursor_at, need, ex, got) < 0) return -1;
    if (got[0] >= 0) return 0;
    p->cursor_page = p->cursor_at = 0;
    return ring_walk(m, p, 0, first, 0, need, ex, got);
}

/* SmallMemoryPool.try_reserve: the ring of chunks from its cursor; an excluded chunk under it ends the search */
static int small_try(ManagedObject *m, MPool *p, int64_t size, ExclusionObject *ex, int64_t got[3]) {
    for (Py_ssize_t k = 0; k < p->ring.len; k++) {
        int64_t page = p->ring.data[p->ring_at];
        if (ex != NULL) {
            int blocks = ex->by_range ? flat_blocks(ranges_of(ex, page), 0, size > 1 ? size : 1)
                                      : page_blocked(ex, page);
            if (blocks < 0) return -1;
            if (blocks) return 0;
        }
        p->ring_at = (p->ring_at + 1) % p->ring.len;
        if (m->pages[page].in_use < 0) {
            m->pages[page].in_use = size;
            got[0] = page, got[1] = 0, got[2] = p->alignment;
            return 0;
        }
    }
    return 0;
}

static int mpool_accept(MPool *p, int64_t size) {
    switch (p->kind) {
    case P_EXCLUSIVE: return size <= p->max_alloc;
    case P_SMALL: return size <= p->alignment;
    case P_SLICED:
    case P_RING:
        return size <= p->max_slice
               || (p->near_full && size <= p->page_size && (p->page_size - size) * 5 < p->page_size);
    default: return 1;
    }
}

static void free_pages_remove(ManagedObject *m, MPool *p, int64_t page) {
    Py_ssize_t i = m->pages[page].free_at, last = p->free_pages.len - 1;
    int64_t moved = p->free_pages.data[last];
    p->free_pages.data[i] = moved;
    m->pages[moved].free_at = i;
    p->free_pages.len--;
    m->pages[page].free_at = -1;
}

/* Pool.try_reserve; *page -1 when the pool has nothing to reuse */
static int mpool_try(ManagedObject *m, MPool *p, int64_t size, PyObject *exclude, int64_t got[3]) {
    ExclusionObject *ex = exclude == Py_None ? NULL : (ExclusionObject *)exclude;
    got[0] = -1;
    if (p->kind == P_SIZE_CLASS) return sc_try(m, p, size, ex, got);
    if (p->kind == P_RING) return ring_try(m, p, size, ex, got);
    if (p->kind == P_SMALL) return small_try(m, p, size, ex, got);
    if (p->kind == P_EXCLUSIVE) {
        p->cur_avg = p->cur_avg * (1.0 - 0.01) + (double)size * 0.01;
        int64_t best = -1;
        for (Py_ssize_t k = 0; k < p->free_pages.len; k++) {
            int64_t page = p->free_pages.data[k];
            MPage *e = &m->pages[page], *b = best >= 0 ? &m->pages[best] : NULL;
            if (e->alloc_size >= size
                && (b == NULL || e->free_count < b->free_count || (e->free_count == b->free_count && page < best))) {
                int blocks = ex == NULL ? 0 : ex->by_range ? flat_blocks(ranges_of(ex, page), 0, size > 1 ? size : 1)
                                                           : page_blocked(ex, page);
                if (blocks < 0) return -1;
                if (!blocks) best = page;
            }
        }
        if (best < 0) return 0;
        free_pages_remove(m, p, best);
        MPage *e = &m->pages[best];
        e->free_count = e->free_count > 1 ? e->free_count - 1 : 0;
        e->in_use = size;
        got[0] = best, got[1] = 0, got[2] = size + padding_of(size, p->alignment);
        return 0;
    }
    if (p->kind != P_SLICED || size < p->min_offset) return 0;
    int64_t need = size + padding_of(size, p->alignment);
    for (Py_ssize_t k = 0; k < p->pages.len; k++) {
        int64_t page = p->pages.data[k];
        if (ex != NULL && !ex->by_range) {
            int in = page_blocked(ex, page);
            if (in < 0) return -1;
            if (in) continue;
        }
        Slices *s = m->pages[page].slices;
        for (Py_ssize_t j = 0; j < s->start.len; j++) {
            int64_t start = s->start.data[j], length = s->length.data[j], at = start;
            if (length < need) continue;
            if (ex != NULL && ex_first_fit(ex, page, start, start + length, need, p->alignment, &at) < 0) return -1;
            if (at < 0) continue;
            if (slices_take(s, j, at, need) < 0) return -1;
            got[0] = page, got[1] = at, got[2] = need;
            return 0;
        }
    }
    return 0;
}

/* Pool.alloc: a new page for the request */
static int mpool_alloc(ManagedObject *m, int index, int64_t size, int64_t got[3]) {
    MPool *p = &m->pools[index];
    if (p->kind == P_SIZE_CLASS) return sc_alloc(m, index, size, got);
    int64_t page, made, need = size + padding_of(size, p->alignment);
    if (p->kind == P_EXCLUSIVE) {
        int64_t avg = (int64_t)p->cur_avg;
        made = round_up(avg > size ? avg : size, p->alignment);
    } else if (p->kind == P_SMALL) {
        made = need = p->alignment;
    } else {
        made = p->kind == P_SLICED || p->kind == P_RING ? p->page_size : round_up(size, p->alignment);
    }
    MPage *e;
    if (storage_alloc(m, made, &page) < 0 || (e = mpage(m, page, 1)) == NULL) return -1;
    e->pool = index;
    e->alloc_size = made;
    got[0] = page, got[1] = 0, got[2] = p->kind == P_OWN ? made : need;
    if (p->kind == P_SMALL) {
        e->in_use = size;
        return push(&p->ring, &page, 1);
    }
    if (p->kind == P_RING) {
        int64_t zero = 0;
        if ((e->ring = PyMem_Calloc(1, sizeof(Ring))) == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        return push(&e->ring->offset, &zero, 1) < 0 || push(&e->ring->size, &p->page_size, 1) < 0
               || push(&e->ring->used, &zero, 1) < 0 || push(&p->pages, &page, 1) < 0
               || ring_take(e->ring, 0, 0, need) < 0 ? -1 : 0;
    }
    if (p->kind == P_EXCLUSIVE) {
        e->free_count = 4;
        e->in_use = size;
    } else if (p->kind == P_SLICED) {
        if ((e->slices = PyMem_Calloc(1, sizeof(Slices))) == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        int64_t zero = 0;
        if (push(&e->slices->start, &zero, 1) < 0 || push(&e->slices->length, &p->page_size, 1) < 0
            || push(&p->pages, &page, 1) < 0 || slices_take(e->slices, 0, 0, need) < 0)
            return -1;
    }
    return 0;
}

/* ExclusiveMemoryPool.cleanup */
static int mpool_cleanup(ManagedObject *m, MPool *p, int64_t alloc_nr) {
    if (p->kind == P_SIZE_CLASS) return sc_cleanup(m, p, alloc_nr);
    if (alloc_nr < p->due) return 0;
    p->due = alloc_nr + p->check_period;
    Py_ssize_t n = p->free_pages.len;
    int64_t *order = PyMem_Malloc((n + 1) * sizeof(int64_t));
    if (order == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memcpy(order, p->free_pages.data, n * sizeof(int64_t));
    qsort(order, n, sizeof(int64_t), cmp_int64);
    int r = 0;
    for (Py_ssize_t k = 0; k < n && r == 0; k++) {
        MPage *e = &m->pages[order[k]];
        if (++e->free_count < 5) continue;
        r = storage_dealloc(m, order[k]);
        free_pages_remove(m, p, order[k]);
        e->pool = -1;
    }
    PyMem_Free(order);
    return r;
}

static PyObject *Managed_reserve(ManagedObject *m, PyObject *const *args, Py_ssize_t nargs) {
    int64_t size, got[3];
    if (nargs < 1 || nargs > 2) return PyErr_Format(PyExc_TypeError, "reserve(size, exclude=None)");
    if (as_int(args[0], &size) < 0) return NULL;
    PyObject *exclude = nargs > 1 ? args[1] : Py_None;
    if (exclude != Py_None && Py_TYPE(exclude) != &ExclusionType)
        return PyErr_Format(PyExc_TypeError, "Managed.reserve takes the C Exclusion");
    if (++m->alloc_nr >= m->due) {
        m->due = NEVER;
        for (Py_ssize_t k = 0; k < m->cleaning.len; k++) {
            MPool *p = &m->pools[m->cleaning.data[k]];
            if (mpool_cleanup(m, p, m->alloc_nr) < 0) return NULL;
            if (p->due < m->due) m->due = p->due;
        }
    }
    int index = 0;
    while (index < m->n_pools - 1 && !mpool_accept(&m->pools[index], size)) index++;
    if (mpool_try(m, &m->pools[index], size, exclude, got) < 0) return NULL;
    if (got[0] < 0 && mpool_alloc(m, index, size, got) < 0) return NULL;
    return Py_BuildValue("(LLL)", (long long)got[0], (long long)got[1], (long long)got[2]);
}

static PyObject *Managed_free(ManagedObject *m, PyObject *const *args, Py_ssize_t nargs) {
    int64_t page, offset;
    if (nargs != 2) return PyErr_Format(PyExc_TypeError, "free(page, offset)");
    if (as_int(args[0], &page) < 0 || as_int(args[1], &offset) < 0) return NULL;
    MPage *e = mpage(m, page, 0);
    if (e == NULL) return NULL;
    MPool *p = &m->pools[e->pool];
    if (p->kind == P_EXCLUSIVE) {
        e->in_use = -1;
        e->free_at = p->free_pages.len;
        if (push(&p->free_pages, &page, 1) < 0) return NULL;
    } else if (p->kind == P_SLICED) {
        if (slices_release(e->slices, offset) < 0) return NULL;
    } else if (p->kind == P_SIZE_CLASS) {
        if (sc_free(m, p, page, offset) < 0) return NULL;
    } else if (p->kind == P_SMALL) {
        e->in_use = -1;
    } else if (p->kind == P_RING) {
        Ring *r = e->ring;
        Py_ssize_t i = bisect_left(r->offset.data, r->offset.len, offset);
        if (i >= r->offset.len) return PyErr_Format(PyExc_IndexError, "list index out of range");
        r->used.data[i] = 0;
        if (i < r->first_free) r->first_free = i;
    } else {
        e->pool = -1;
        if (storage_dealloc(m, page) < 0) return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *Managed_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"storage", "pools", "cleaning", NULL};
    PyObject *storage, *pools, *cleaning;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO!O!", kwlist, &storage, &PyList_Type, &pools, &PyList_Type,
                                     &cleaning))
        return NULL;
    ManagedObject *m = (ManagedObject *)type->tp_alloc(type, 0);
    if (m == NULL) return NULL;
    m->storage = Py_NewRef(storage);
    m->n_pools = (int)PyList_GET_SIZE(pools);
    m->due = NEVER;
    if (m->n_pools == 0 || (m->pools = PyMem_Calloc(m->n_pools, sizeof(MPool))) == NULL) {
        PyErr_SetString(PyExc_ValueError, "Managed: pools, the last taking every size");
        goto error;
    }
    for (int k = 0; k < m->n_pools; k++) {
        MPool *p = &m->pools[k];
        long long kind, a, b, c, d, e, f;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(pools, k), "LLLLLLL", &kind, &a, &b, &c, &d, &e, &f)) goto error;
        p->kind = (int)kind;
        if (kind == P_EXCLUSIVE) {
            p->max_alloc = a, p->alignment = b, p->check_period = c;
            p->due = c ? c : NEVER;
            p->cur_avg = (double)a / 2;
        } else if (kind == P_SLICED) {
            p->page_size = a, p->max_slice = b, p->alignment = c, p->near_full = (int)d, p->min_offset = e;
        } else if (kind == P_RING) {
            p->page_size = a, p->max_slice = b, p->alignment = c, p->near_full = (int)d, p->min_offset = e;
        } else if (kind == P_SIZE_CLASS) {
            p->page_size = a, p->max_slice = b, p->alignment = c, p->dealloc_period = d, p->min_page_size = e;
            p->slots_per_page = f;
            p->check_period = d / 5;
            p->due = p->check_period;
            for (int l = 0; l < 64; l++) p->carve_page[l] = -1;
        } else {
            p->alignment = a;
        }
        if (p->alignment <= 0) {
            PyErr_SetString(PyExc_ValueError, "Managed: a pool's alignment is positive");
            goto error;
        }
    }
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(cleaning); k++) {
        int64_t index;
        if (as_int(PyList_GET_ITEM(cleaning, k), &index) < 0 || push(&m->cleaning, &index, 1) < 0) goto error;
        if (index < 0 || index >= m->n_pools) {
            PyErr_SetString(PyExc_IndexError, "Managed: cleaning names a pool it does not have");
            goto error;
        }
        if (m->pools[index].due < m->due) m->due = m->pools[index].due;
    }
    return (PyObject *)m;
error:
    Py_DECREF(m);
    return NULL;
}

static int Managed_traverse(ManagedObject *m, visitproc visit, void *arg) {
    Py_VISIT(m->storage);
    return 0;
}

static int Managed_clear(ManagedObject *m) {
    Py_CLEAR(m->storage);
    return 0;
}

static void Managed_dealloc(ManagedObject *m) {
    PyObject_GC_UnTrack(m);
    Managed_clear(m);
    for (int k = 0; m->pools != NULL && k < m->n_pools; k++) {
        PyMem_Free(m->pools[k].free_pages.data);
        PyMem_Free(m->pools[k].pages.data);
        for (int l = 0; l < 64; l++) PyMem_Free(m->pools[k].slots[l].data);
        PyMem_Free(m->pools[k].ring.data);
    }
    for (Py_ssize_t k = 0; k < m->n_pages; k++) {
        Ring *r = m->pages[k].ring;
        if (r != NULL) {
            PyMem_Free(r->offset.data);
            PyMem_Free(r->size.data);
            PyMem_Free(r->used.data);
            PyMem_Free(r);
        }
        Slices *s = m->pages[k].slices;
        if (s == NULL) continue;
        PyMem_Free(s->start.data);
        PyMem_Free(s->length.data);
        PyMem_Free(s->offset.data);
        PyMem_Free(s->size.data);
        PyMem_Free(s);
    }
    PyMem_Free(m->pools);
    PyMem_Free(m->pages);
    PyMem_Free(m->cleaning.data);
    Py_TYPE(m)->tp_free((PyObject *)m);
}

static PyMethodDef Managed_methods[] = {
    {"reserve", (PyCFunction)(void (*)(void))Managed_reserve, METH_FASTCALL, "reserve(size, exclude=None)"},
    {"free", (PyCFunction)(void (*)(void))Managed_free, METH_FASTCALL, "free(page, offset)"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ManagedType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "wgtrace.sim.planner._loop.Managed",
    .tp_basicsize = sizeof(ManagedObject),
    .tp_dealloc = (destructor)Managed_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)Managed_traverse,
    .tp_clear = (inquiry)Managed_clear,
    .tp_doc = "sim/policies/pools.py's MemoryManagement over exclusive, first-fit sliced and own-page pools, in C.",
    .tp_methods = Managed_methods,
    .tp_new = Managed_new,
};

static int is_compiled_pool(PyObject *allocator) {
    PyTypeObject *t = Py_TYPE(allocator);
    return t == &CacheType || t == &CachingType || t == &ManagedType;
}

/* Exclusion.add of the emitter's exclusion: in place where it is the C one */
static int exclude(State *st, int64_t page, int64_t lo, int64_t hi) {
    if (Py_TYPE(st->exclusion) == &ExclusionType && ((ExclusionObject *)st->exclusion)->by_range)
        return range_add((ExclusionObject *)st->exclusion, page, lo, hi);
    PyObject *r = call3(st->exclusion, s_add, page, lo, hi);
    if (r == NULL) return -1;
    Py_DECREF(r);
    return 0;
}

/* ---- assembly (assemble.py): the plan's columns from the placed events and the records, in one pass ---- */

/* a contiguous array of ``itemsize``-byte integers (writable: an output), viewed in place */
static int int_view(PyObject *obj, Py_buffer *view, Py_ssize_t itemsize, int writable, const char *name) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    const char *f = view->format;
    int integer = f != NULL && f[0] != '\0' && f[1] == '\0' && strchr("bBhHiIlLqQ", f[0]) != NULL;
    if (view->itemsize != itemsize || !integer) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_TypeError, "assembly: %s is not contiguous %zd-byte integers", name, itemsize);
        return -1;
    }
    return 0;
}

/* views[k] of args[k] for each of ``n`` (itemsize, writable, name); on failure those taken are released */
static int int_views(PyObject *const *args, Py_buffer *views, int n, const Py_ssize_t *size, const char *writable,
                     const char *const *names) {
    for (int k = 0; k < n; k++) {
        if (int_view(args[k], &views[k], size[k], writable[k] == 'w', names[k]) < 0) {
            while (k--) PyBuffer_Release(&views[k]);
            return -1;
        }
    }
    return 0;
}

static int in_range(int64_t value, Py_ssize_t n, const char *what) {
    if (value >= 0 && value < n) return 0;
    PyErr_Format(PyExc_ValueError, "assembly: %s %lld out of range", what, (long long)value);
    return -1;
}

/* where logical allocation ``b`` lives: entry b of the emitter's ``phys`` and ``offset`` lists (negative: from the
 * end, as numpy's remap indexed them) */
static int placement(PyObject *phys, PyObject *offset, int64_t b, int64_t *page, int64_t *at) {
    Py_ssize_t n = PyList_GET_SIZE(phys);
    if (b < 0) b += n;
    if (b < 0 || b >= n || b >= PyList_GET_SIZE(offset)) {
        PyErr_Format(PyExc_IndexError, "assembly: allocation %lld out of range", (long long)b);
        return -1;
    }
    *page = PyLong_AsLongLong(PyList_GET_ITEM(phys, b));
    *at = PyLong_AsLongLong(PyList_GET_ITEM(offset, b));
    return (*page == -1 || *at == -1) && PyErr_Occurred() ? -1 : 0;
}

/* a source column as the trace holds it (traces/columns.py): a base of any integer type, plus a frame per block of
 * 2^shift values (framed), or values kept aside for some indices (patched: which ones as bits, with the count of
 * patches before each 64-bit word, so a patched read is a popcount away) */
typedef struct {
    Py_buffer base, frame, at, value;
    int has_frame, has_patch, shift;
    char base_kind, value_kind;
    Py_ssize_t n;
    uint64_t *bits;
    int64_t *before;
} Col;

static char int_kind(const Py_buffer *b) {
    char f = b->format == NULL ? 'B' : b->format[0];
    int is_signed = strchr("bhilq", f) != NULL;
    switch (b->itemsize) {
    case 1: return is_signed ? 'b' : 'B';
    case 2: return is_signed ? 'h' : 'H';
    case 4: return is_signed ? 'i' : 'I';
    default: return 'q';
    }
}

static inline int64_t element(const void *p, char kind, Py_ssize_t i) {
    switch (kind) {
    case 'b': return ((const int8_t *)p)[i];
    case 'B': return ((const uint8_t *)p)[i];
    case 'h': return ((const int16_t *)p)[i];
    case 'H': return ((const uint16_t *)p)[i];
    case 'i': return ((const int32_t *)p)[i];
    case 'I': return ((const uint32_t *)p)[i];
    default: return ((const int64_t *)p)[i];
    }
}

static inline int64_t col_get(const Col *c, Py_ssize_t i) {
    int64_t v = element(c->base.buf, c->base_kind, i);
    if (c->has_frame) v += ((const int64_t *)c->frame.buf)[i >> c->shift];
    if (c->has_patch && (c->bits[i >> 6] >> (i & 63) & 1))
        v = element(c->value.buf, c->value_kind, c->before[i >> 6] + __builtin_popcountll(c->bits[i >> 6]
                                                                                    & ((1ULL << (i & 63)) - 1)));
    return v;
}

static void col_release(Col *c) {
    if (c->base.obj != NULL) PyBuffer_Release(&c->base);
    if (c->frame.obj != NULL) PyBuffer_Release(&c->frame);
    if (c->at.obj != NULL) PyBuffer_Release(&c->at);
    if (c->value.obj != NULL) PyBuffer_Release(&c->value);
    PyMem_Free(c->bits);
    PyMem_Free(c->before);
    memset(c, 0, sizeof *c);
}

static int col_buffer(PyObject *obj, Py_buffer *view, const char *what) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    const char *f = view->format;
    if (f == NULL || f[0] == '\0' || f[1] != '\0' || strchr("bBhHiIlLqQ", f[0]) == NULL
        || !(view->itemsize == 1 || view->itemsize == 2 || view->itemsize == 4 || view->itemsize == 8)) {
        PyBuffer_Release(view);
        view->obj = NULL;
        PyErr_Format(PyExc_TypeError, "assembly: a source column's %s is not contiguous integers", what);
        return -1;
    }
    return 0;
}

/* the patch index: bit i set where value i is kept aside (``at``, ascending) */
static int col_index(Col *c) {
    Py_ssize_t words = (c->n + 63) / 64, n_at = c->at.len / c->at.itemsize;
    char at_kind = int_kind(&c->at);
    if (n_at != c->value.len / c->value.itemsize) {
        PyErr_SetString(PyExc_ValueError, "assembly: a patched column's values and places disagree");
        return -1;
    }
    c->bits = PyMem_Calloc(words + 1, sizeof(uint64_t));
    c->before = PyMem_Calloc(words + 1, sizeof(int64_t));
    if (c->bits == NULL || c->before == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t k = 0; k < n_at; k++) {
        int64_t i = element(c->at.buf, at_kind, k);
        if (in_range(i, c->n, "patched place") < 0 || (k && i <= element(c->at.buf, at_kind, k - 1))) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "assembly: patched places not ascending");
            return -1;
        }
        c->bits[i >> 6] |= 1ULL << (i & 63);
    }
    for (Py_ssize_t w = 0; w < words; w++) c->before[w + 1] = c->before[w] + __builtin_popcountll(c->bits[w]);
    return 0;
}

/* a column from its parts (base, frame or None, shift, at or None, value or None), ``n`` values long */
static int col_of(PyObject *spec, Col *c, Py_ssize_t n) {
    memset(c, 0, sizeof *c);
    if (!PyTuple_Check(spec) || PyTuple_GET_SIZE(spec) != 5) {
        PyErr_SetString(PyExc_TypeError, "assembly: a source column is (base, frame, shift, at, value)");
        return -1;
    }
    PyObject *frame = PyTuple_GET_ITEM(spec, 1), *at = PyTuple_GET_ITEM(spec, 3), *value = PyTuple_GET_ITEM(spec, 4);
    if (col_buffer(PyTuple_GET_ITEM(spec, 0), &c->base, "base") < 0) return -1;
    c->base_kind = int_kind(&c->base);
    c->n = c->base.len / c->base.itemsize;
    c->shift = (int)PyLong_AsLong(PyTuple_GET_ITEM(spec, 2));
    if (PyErr_Occurred()) return -1;
    if (c->n != n) {
        PyErr_Format(PyExc_ValueError, "assembly: a source column has %zd values, not %zd", c->n, n);
        return -1;
    }
    if (frame != Py_None) {
        c->has_frame = 1;
        if (col_buffer(frame, &c->frame, "frame") < 0) return -1;
        if (c->frame.itemsize != 8 || c->shift < 0 || c->shift > 62
            || (n && ((n - 1) >> c->shift) >= c->frame.len / 8)) {
            PyErr_SetString(PyExc_ValueError, "assembly: a framed column's frames do not cover it");
            return -1;
        }
    }
    if (at != Py_None && value != Py_None) {
        c->has_patch = 1;
        if (col_buffer(at, &c->at, "places") < 0 || col_buffer(value, &c->value, "values") < 0) return -1;
        c->value_kind = int_kind(&c->value);
        return col_index(c);
    }
    return 0;
}

/* the columns of a tuple of ``count`` specs, each ``n`` values long; on failure none is left held */
static int cols_of(PyObject *specs, Col *cols, int count, Py_ssize_t n) {
    if (!PyTuple_Check(specs) || PyTuple_GET_SIZE(specs) != count) {
        PyErr_Format(PyExc_TypeError, "assembly: %d source columns expected", count);
        return -1;
    }
    for (int j = 0; j < count; j++) {
        if (col_of(PyTuple_GET_ITEM(specs, j), &cols[j], n) < 0) {
            for (int k = 0; k <= j; k++) col_release(&cols[k]);
            return -1;
        }
    }
    return 0;
}

enum { F_REC, F_SYN, F_PLACED, F_PLACED_KIND, F_PLACED_A0, F_FIELDS, F_KIND, F_ORIGIN, F_T_OUT, F_ARGS, F_NROWS_OUT,
       F_SITE_OUT, F_ROW_FROM, N_FILL };
enum { S_A1, S_T = 5, S_SITE, S_NROWS, S_ROW_START, N_SOURCES };
static const Py_ssize_t fill_size[N_FILL] = {8, 8, 8, 8, 8, 8, 1, 8, 8, 8, 4, 4, 8};
static const char fill_writable[N_FILL + 1] = "rrrrrrwwwwwww";
static const char *const fill_name[N_FILL] = {"records", "synthetic rows", "placed", "placed kinds", "placed a0",
    "fields", "kind", "origin", "t out", "args", "nrows out", "site out", "row from"};

typedef struct {
    const int64_t *rec, *syn, *placed, *placed_kind, *placed_a0, *fields;
    const Col *src;
    uint8_t *kind;
    int64_t *origin, *t_out, *args, *row_from;
    int32_t *nrows_out, *site_out;
    Py_ssize_t n_rec, n_syn, n_placed, n, m;
    int64_t rows_base;
    PyObject *phys, *offset;
} Fill;

/* plan event p copies source event s */
static void fill_copied(const Fill *f, Py_ssize_t p, int64_t s) {
    for (int j = 0; j < 5; j++) f->args[(j + 1) * f->m + p] = col_get(&f->src[S_A1 + j], s);
    f->nrows_out[p] = (int32_t)col_get(&f->src[S_NROWS], s);
    f->row_from[p] = col_get(&f->src[S_ROW_START], s);
    f->site_out[p] = (int32_t)col_get(&f->src[S_SITE], s);
}

/* plan event p is record r: a copy of its source event, or synthetic row k */
static int fill_record(const Fill *f, Py_ssize_t p, Py_ssize_t r, Py_ssize_t *k) {
    const int64_t *x = f->rec + r * REC;
    int64_t src = x[0], cur = x[3], origin = x[4];
    if (in_range(cur, f->n, "handled event") < 0) return -1;
    f->kind[p] = (uint8_t)x[1];
    f->args[p] = x[2];
    f->origin[p] = origin;
    f->t_out[p] = col_get(&f->src[S_T], cur);
    if (src >= 0) {
        if (in_range(src, f->n, "source event") < 0) return -1;
        fill_copied(f, p, src);
        return 0;
    }
    if (in_range(*k, f->n_syn, "synthetic row") < 0) return -1;
    const int64_t *y = f->syn + *k * SYN;
    (*k)++;
    for (int j = 0; j < 5; j++) f->args[(j + 1) * f->m + p] = y[j];
    f->nrows_out[p] = (int32_t)y[5];
    if (y[6] >= 0 && in_range(y[6], f->n, "row source") < 0) return -1;
    f->row_from[p] = y[6] >= 0 ? col_get(&f->src[S_ROW_START], y[6]) : f->rows_base - y[6];
    int64_t site_of = origin >= 0 ? origin : cur;
    if (in_range(site_of, f->n, "origin") < 0) return -1;
    f->site_out[p] = (int32_t)col_get(&f->src[S_SITE], site_of);
    return 0;
}

/* plan event p's buffer fields (``fields``: per kind, two pairs of buffer column and offset column or -1) moved
 * from logical allocations to (page, slice offset + offset) */
static int fill_remap(const Fill *f, Py_ssize_t p) {
    const int64_t *field = f->fields + 4 * f->kind[p];
    for (int j = 0; j < 4 && field[j] >= 0; j += 2) {
        int64_t *buffer = f->args + field[j] * f->m + p, page, at;
        if (placement(f->phys, f->offset, *buffer, &page, &at) < 0) return -1;
        if (field[j + 1] >= 0) f->args[field[j + 1] * f->m + p] += at;
        *buffer = page;
    }
    return 0;
}

/* each placed event before every record emitted while handling it or a later source event */
static int fill_merge(const Fill *f) {
    Py_ssize_t i = 0, r = 0, k = 0;
    for (Py_ssize_t p = 0; p < f->m; p++) {
        if (i < f->n_placed && (r == f->n_rec || f->placed[i] <= f->rec[r * REC + 3])) {
            int64_t s = f->placed[i];
            if (in_range(s, f->n, "placed event") < 0) return -1;
            f->kind[p] = (uint8_t)f->placed_kind[i];
            f->args[p] = f->placed_a0[i];
            f->origin[p] = s;
            f->t_out[p] = col_get(&f->src[S_T], s);
            fill_copied(f, p, s);
            i++;
        } else if (fill_record(f, p, r++, &k) < 0) {
            return -1;
        }
        if (fill_remap(f, p) < 0) return -1;
    }
    if (k != f->n_syn) {
        PyErr_SetString(PyExc_ValueError, "assembly: synthetic rows left over");
        return -1;
    }
    return 0;
}

static int fill_sized(const Fill *f, const Py_buffer *views) {
    int ok = f->m == f->n_placed + f->n_rec && views[F_PLACED_KIND].len == 8 * f->n_placed
             && views[F_PLACED_A0].len == 8 * f->n_placed && views[F_ARGS].len == 8 * 6 * f->m
             && views[F_FIELDS].len == 8 * 4 * 256;
    for (int c = F_ORIGIN; c <= F_ROW_FROM && ok; c++) ok = c == F_ARGS || views[c].len == fill_size[c] * f->m;
    if (!ok) PyErr_SetString(PyExc_ValueError, "assembly: column lengths disagree");
    return ok ? 0 : -1;
}

static PyObject *fill(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != N_FILL + 5 || !PyList_Check(args[N_FILL + 1]) || !PyList_Check(args[N_FILL + 2])) {
        PyErr_Format(PyExc_TypeError, "fill takes %d arguments", N_FILL + 5);
        return NULL;
    }
    Py_ssize_t n = PyLong_AsSsize_t(args[N_FILL + 4]);
    Py_buffer v[N_FILL];
    Col src[N_SOURCES];
    if (n < 0 && PyErr_Occurred()) return NULL;
    if (int_views(args, v, N_FILL, fill_size, fill_writable, fill_name) < 0) return NULL;
    if (cols_of(args[N_FILL + 3], src, N_SOURCES, n) < 0) {
        for (int c = 0; c < N_FILL; c++) PyBuffer_Release(&v[c]);
        return NULL;
    }
    Fill f = {.rec = v[F_REC].buf, .syn = v[F_SYN].buf, .placed = v[F_PLACED].buf,
              .placed_kind = v[F_PLACED_KIND].buf, .placed_a0 = v[F_PLACED_A0].buf, .fields = v[F_FIELDS].buf,
              .src = src, .kind = v[F_KIND].buf, .origin = v[F_ORIGIN].buf, .t_out = v[F_T_OUT].buf,
              .args = v[F_ARGS].buf, .row_from = v[F_ROW_FROM].buf, .nrows_out = v[F_NROWS_OUT].buf,
              .site_out = v[F_SITE_OUT].buf, .n_rec = v[F_REC].len / (8 * REC), .n_syn = v[F_SYN].len / (8 * SYN),
              .n_placed = v[F_PLACED].len / 8, .n = n, .m = v[F_KIND].len,
              .phys = args[N_FILL + 1], .offset = args[N_FILL + 2]};
    f.rows_base = PyLong_AsLongLong(args[N_FILL]);
    int ok = !(f.rows_base == -1 && PyErr_Occurred()) && fill_sized(&f, v) == 0 && fill_merge(&f) == 0;
    for (int c = 0; c < N_FILL; c++) PyBuffer_Release(&v[c]);
    for (int j = 0; j < N_SOURCES; j++) col_release(&src[j]);
    return ok ? Py_NewRef(Py_None) : NULL;
}

enum { R_FROM, R_NROWS, R_SYN, R_KIND, R_TEXTURES, R_OUT, R_ARGS, N_ROWS_ARGS };
static const Py_ssize_t rows_size[N_ROWS_ARGS] = {8, 4, 8, 1, 8, 8, 8};
static const char rows_writable[N_ROWS_ARGS + 1] = "rrrrrww";
static const char *const rows_name[N_ROWS_ARGS] = {"row from", "nrows", "synthetic rows", "kind", "textures", "rows",
                                                   "args"};

typedef struct {
    const int64_t *from, *syn, *textures;
    const Col *c;
    const int32_t *nrows;
    const uint8_t *kind;
    int64_t *out, *args;
    Py_ssize_t m, n_src, n_syn, total;
    int64_t bind_group, buffer_accesses;
    PyObject *phys, *offset;
} Rows;

/* rows o.. of plan event p as the pools placed their buffers: a bind group's buffer rows, a texture copy's buffer
 * side (``textures``: per kind, its buffer column and the row holding the buffer side's offset, or -1) */
static int rows_remap(const Rows *r, Py_ssize_t p, Py_ssize_t o) {
    int64_t page, at, *out = r->out, total = r->total;
    if (r->kind[p] == r->bind_group) {
        for (Py_ssize_t q = o; q < o + r->nrows[p]; q++) {
            int64_t access = out[4 * total + q];
            if (access < 0 || access > 62 || !((r->buffer_accesses >> access) & 1)) continue;
            if (placement(r->phys, r->offset, out[total + q], &page, &at) < 0) return -1;
            out[2 * total + q] += at;
            out[total + q] = page;
        }
    }
    const int64_t *texture = r->textures + 2 * r->kind[p];
    if (texture[0] < 0) return 0;
    if (texture[1] >= r->nrows[p]) {
        PyErr_SetString(PyExc_ValueError, "assembly: a texture copy without its layout row");
        return -1;
    }
    int64_t *buffer = r->args + texture[0] * r->m + p;
    if (placement(r->phys, r->offset, *buffer, &page, &at) < 0) return -1;
    out[o + texture[1]] += at;
    *buffer = page;
    return 0;
}

static int rows_copy(const Rows *r) {
    Py_ssize_t o = 0;
    for (Py_ssize_t p = 0; p < r->m; p++) {
        Py_ssize_t first = o;
        for (int64_t at = r->from[p], end = r->from[p] + r->nrows[p]; at < end; at++, o++) {
            if (o >= r->total) {
                PyErr_SetString(PyExc_ValueError, "assembly: more rows than counted");
                return -1;
            }
            if (in_range(at, r->n_src + r->n_syn, "row") < 0) return -1;
            for (int j = 0; j < ROW; j++)
                r->out[j * r->total + o] = at < r->n_src ? col_get(&r->c[j], at) : r->syn[(at - r->n_src) * ROW + j];
        }
        if (rows_remap(r, p, first) < 0) return -1;
    }
    if (o == r->total) return 0;
    PyErr_SetString(PyExc_ValueError, "assembly: fewer rows than counted");
    return -1;
}

static PyObject *fill_rows(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != N_ROWS_ARGS + 6 || !PyList_Check(args[N_ROWS_ARGS]) || !PyList_Check(args[N_ROWS_ARGS + 1])) {
        PyErr_Format(PyExc_TypeError, "fill_rows takes %d arguments", N_ROWS_ARGS + 6);
        return NULL;
    }
    Py_ssize_t n_src = PyLong_AsSsize_t(args[N_ROWS_ARGS + 5]);
    Py_buffer v[N_ROWS_ARGS];
    Col c[ROW];
    if (n_src < 0 && PyErr_Occurred()) return NULL;
    if (int_views(args, v, N_ROWS_ARGS, rows_size, rows_writable, rows_name) < 0) return NULL;
    if (cols_of(args[N_ROWS_ARGS + 4], c, ROW, n_src) < 0) {
        for (int k = 0; k < N_ROWS_ARGS; k++) PyBuffer_Release(&v[k]);
        return NULL;
    }
    Rows r = {.from = v[R_FROM].buf, .syn = v[R_SYN].buf, .textures = v[R_TEXTURES].buf, .c = c,
              .nrows = v[R_NROWS].buf, .kind = v[R_KIND].buf, .out = v[R_OUT].buf, .args = v[R_ARGS].buf,
              .m = v[R_NROWS].len / 4, .n_src = n_src, .n_syn = v[R_SYN].len / (8 * ROW),
              .total = v[R_OUT].len / (8 * ROW), .phys = args[N_ROWS_ARGS], .offset = args[N_ROWS_ARGS + 1]};
    r.bind_group = PyLong_AsLongLong(args[N_ROWS_ARGS + 2]);
    r.buffer_accesses = PyLong_AsLongLong(args[N_ROWS_ARGS + 3]);
    int ok = !PyErr_Occurred() && v[R_FROM].len == 8 * r.m && v[R_KIND].len == r.m && v[R_ARGS].len == 8 * 6 * r.m
             && v[R_TEXTURES].len == 8 * 2 * 256;
    if (!ok && !PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "assembly: row column lengths disagree");
    ok = ok && rows_copy(&r) == 0;
    for (int k = 0; k < N_ROWS_ARGS; k++) PyBuffer_Release(&v[k]);
    for (int j = 0; j < ROW; j++) col_release(&c[j]);
    return ok ? Py_NewRef(Py_None) : NULL;
}

/* ints(values, out): out[k] = values[k], a list of ints into a contiguous int64 array as long */
static PyObject *ints(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyList_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "ints(values, out) takes a list and an array");
        return NULL;
    }
    Py_buffer out;
    if (int_view(args[1], &out, 8, 1, "out") < 0) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(args[0]);
    int ok = out.len == 8 * n;
    if (!ok) PyErr_SetString(PyExc_ValueError, "ints: out is not as long as the list");
    for (Py_ssize_t k = 0; k < n && ok; k++) {
        int64_t v = PyLong_AsLongLong(PyList_GET_ITEM(args[0], k));
        ok = !(v == -1 && PyErr_Occurred());
        ((int64_t *)out.buf)[k] = v;
    }
    PyBuffer_Release(&out);
    return ok ? Py_NewRef(Py_None) : NULL;
}

static PyMethodDef methods[] = {
    {"record", record, METH_VARARGS,
     "record(loop, codes, trusted): RecordedLoop.run (the same arguments as rerecord)."},
    {"rerecord", rerecord, METH_VARARGS,
     "rerecord(loop, codes, trusted): RerecordingLoop.run for a program without a render side (codes: the kind "
     "codes; trusted: the class whose instances forward to a shipped pool's allocator)."},
    {"fill", (PyCFunction)(void (*)(void))fill, METH_FASTCALL,
     "fill(records, syn, placed, placed_kind, placed_a0, fields, kind, origin, t_out, args, nrows_out, site_out, "
     "row_from, rows_base, phys, offset, sources, n): assemble's columns (assemble.py), written in place, buffer "
     "fields remapped; sources: a1..a5, t, site, nrows and row starts, each (base, frame, shift, at, value)"},
    {"fill_rows", (PyCFunction)(void (*)(void))fill_rows, METH_FASTCALL,
     "fill_rows(row_from, nrows, syn_rows, kind, textures, rows, args, phys, offset, bind_group, buffer_accesses, "
     "sources, n_rows): the plan's rows, laid out by column, written in place, buffer rows remapped"},
    {"ints", (PyCFunction)(void (*)(void))ints, METH_FASTCALL,
     "ints(values, out): a list of ints into a contiguous int64 array as long (numpy's array() infers each item's "
     "type first)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_loop", "The re-recording loop's hot path.", -1, methods,
                                     NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__loop(void) {
    if (!(s_frombytes = PyUnicode_InternFromString("frombytes")) || !(s_cur = PyUnicode_InternFromString("cur"))
        || !(s_window_open = PyUnicode_InternFromString("window_open"))
        || !(s_next_buffer = PyUnicode_InternFromString("next_buffer"))
        || !(s_close_window = PyUnicode_InternFromString("close_window"))
        || !(s_reserve = PyUnicode_InternFromString("reserve")) || !(s_free = PyUnicode_InternFromString("free"))
        || !(s_add = PyUnicode_InternFromString("add")) || !(s_allocator = PyUnicode_InternFromString("allocator")))
        return NULL;
    if (PyType_Ready(&ExclusionType) < 0 || PyType_Ready(&CacheType) < 0 || PyType_Ready(&CachingType) < 0
        || PyType_Ready(&ManagedType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    if (PyModule_AddObjectRef(m, "Exclusion", (PyObject *)&ExclusionType) < 0
        || PyModule_AddObjectRef(m, "Cache", (PyObject *)&CacheType) < 0
        || PyModule_AddObjectRef(m, "Caching", (PyObject *)&CachingType) < 0
        || PyModule_AddObjectRef(m, "Managed", (PyObject *)&ManagedType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
