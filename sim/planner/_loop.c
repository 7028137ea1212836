/* The re-recording loop's hot path in C (optional: setup.py builds it where it can; fast.py says how the
 * two paths relate, rerecorded.py is the reference).
 *
 * ``rerecord(loop, codes)`` runs ``RerecordingLoop.run`` for a program without a render side: it reads the
 * loop's columns (Python lists of ints, as the lift made them) in place and keeps the encoder, the pass and
 * the per-allocation epochs in C. Records and synthetic rows go into C buffers that are appended to the
 * emitter's arrays before every call back into Python, so a record's place in ``out`` and a synthetic row's
 * id are what the Python loop would give them. What stays in Python: a pooled creation (``Emitter.create``,
 * the pools), a free (the allocation's manager), ``Exclusion.add`` and ``Emitter.close_window``.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

enum { REC = 5, SYN = 7, ROW = 5 };

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
    PyObject *kinds, *a0, *a1, *a2, *command_of, *cmd_submit, *fp_lo, *fp_hi, *fp_buffer;
    PyObject *pipeline, *pipeline_set, *group_set, *bind_key;
    PyObject *visits, *free_at, *free_buffer, *managers, *phys, *offset, *sizes, *pooled, *end_rec, *end_at, *exclusion;
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

static PyObject *s_frombytes, *s_cur, *s_window_open, *s_next_buffer, *s_close_window, *s_create, *s_free, *s_add;

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

/* RerecordingLoop.use: the open encoder now holds command c */
static int use(State *st, int64_t c) {
    int64_t s, lo, hi, b;
    if (item(st->cmd_submit, c, &s) < 0 || item(st->fp_lo, c, &lo) < 0 || item(st->fp_hi, c, &hi) < 0) return -1;
    for (int64_t k = lo; k < hi; k++) {
        if (item(st->fp_buffer, k, &b) < 0 || resource(st, b) < 0) return -1;
        note_use(st, b, s);
    }
    return 0;
}

static int command_of(State *st, PyObject *event, int64_t *c) {
    PyObject *x = PyDict_GetItemWithError(st->command_of, event);
    if (x == NULL) {
        if (!PyErr_Occurred()) PyErr_SetObject(PyExc_KeyError, event);
        return -1;
    }
    *c = PyLong_AsLongLong(x);
    return *c == -1 && PyErr_Occurred() ? -1 : 0;
}

static int set_calls(State *st, int64_t c) {
    int64_t pipe, s, key;
    if (item(st->pipeline, c, &pipe) < 0) return -1;
    if (pipe >= 0 && pipe != st->pass_pipeline) {
        if (item(st->pipeline_set, c, &s) < 0
            || rec(st, s, st->code[K_SET_PIPELINE], st->cpass, st->cur, s) < 0)
            return -1;
        st->pass_pipeline = pipe;
    }
    for (int64_t g = 0; g < st->n_groups; g++) {
        PyObject *sets = PyList_GET_ITEM(st->group_set, g);
        if (!PyList_Check(sets)) {
            PyErr_SetString(PyExc_TypeError, "re-recording loop: group_set holds lists");
            return -1;
        }
        if (c < 0 || c >= PyList_GET_SIZE(sets)) {
            PyErr_SetString(PyExc_IndexError, "re-recording loop: command out of range of group_set");
            return -1;
        }
        PyObject *set = PyList_GET_ITEM(sets, c);
        s = PyLong_AsLongLong(set);
        if (s == -1 && PyErr_Occurred()) return -1;
        if (s < 0) continue;
        PyObject *k = PyDict_GetItemWithError(st->bind_key, set);
        if (k == NULL) {
            if (!PyErr_Occurred()) PyErr_SetObject(PyExc_KeyError, set);
            return -1;
        }
        key = PyLong_AsLongLong(k);
        if (key == -1 && PyErr_Occurred()) return -1;
        if (st->pass_groups[g] != key) {
            if (rec(st, s, st->code[K_SET_BIND_GROUP], st->cpass, st->cur, s) < 0) return -1;
            st->pass_groups[g] = key;
        }
    }
    return 0;
}

static int dispatch(State *st, PyObject *event, int64_t i, int64_t kind) {
    int64_t c;
    if (command_of(st, event, &c) < 0) return -1;
    if (st->enc < 0 && open_encoder(st) < 0) return -1;
    if ((st->pass_per_dispatch || st->cpass < 0) && begin_pass(st) < 0) return -1;
    if (set_calls(st, c) < 0 || rec(st, i, kind, st->cpass, i, i) < 0 || use(st, c) < 0) return -1;
    if (st->pass_per_dispatch && end_pass(st) < 0) return -1;
    if (++st->n_disp == st->max_tasks) return flush(st, -1);
    return 0;
}

static int command(State *st, PyObject *event, int64_t i, int64_t kind) {
    int64_t c;
    if (st->enc < 0 && open_encoder(st) < 0) return -1;
    if (end_pass(st) < 0 || rec(st, i, kind, st->enc, i, i) < 0 || command_of(st, event, &c) < 0) return -1;
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
    if (item(st->a2, i, &size) < 0 || item(st->a1, i, &dst_offset) < 0 || payload(st, i, pay) < 0
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
    if (item(st->a0, i, &b) < 0 || resource(st, b) < 0) return -1;
    if (((st->used_epoch[b] == st->epoch && st->sub_min[b] < i) || (st->flush_write && st->enc >= 0))
        && flush(st, -1) < 0)
        return -1;
    if (st->staged) return staged_write(st, i, b);
    return rec(st, i, st->code[K_WRITE_BUFFER], b, i, i);
}

static int queue_read(State *st, int64_t i, int64_t kind) {
    int64_t a0;
    if (flush(st, -1) < 0 || item(st->a0, i, &a0) < 0) return -1;
    return rec(st, i, kind, a0, i, i);
}

static int destroy(State *st, int64_t i) {
    int64_t b, a1, page;
    if (item(st->a0, i, &b) < 0 || item(st->a1, i, &a1) < 0 || resource(st, b) < 0) return -1;
    if (a1 == 0 && st->used_epoch[b] == st->epoch && st->sub_min[b] < i && flush(st, -1) < 0) return -1;
    if (item(st->phys, b, &page) < 0) return -1;
    return rec(st, i, st->code[K_DESTROY], page, i, i);
}

static int create(State *st, PyObject *event, int64_t i) {
    int64_t b, pooled;
    if (item(st->a0, i, &b) < 0 || item(st->pooled, b, &pooled) < 0) return -1;
    if (!pooled) {
        int64_t page = st->next_buffer++;
        if (set_item(st->phys, b, page) < 0) return -1;
        return rec(st, i, st->code[K_CREATE], page, i, i);
    }
    if (sync_out(st) < 0) return -1;
    PyObject *r = PyObject_CallMethodOneArg(st->em, s_create, event);
    if (r == NULL) return -1;
    Py_DECREF(r);
    return sync_in(st);
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

/* Loop.release: storage of allocations that end before ``stop`` given back; the event the next free follows */
static int release(State *st, int64_t stop, int64_t *next) {
    int64_t f, b, page, off, size;
    for (;;) {
        if (item(st->free_at, st->fi, &f) < 0) return -1;
        if (f >= stop) break;
        if (item(st->free_buffer, st->fi, &b) < 0 || resource(st, b) < 0) return -1;
        st->fi++;
        st->cur = f;
        if (set_item(st->end_rec, b, st->n_out) < 0 || set_item(st->end_at, b, f) < 0) return -1;
        if (item(st->phys, b, &page) < 0 || item(st->offset, b, &off) < 0 || sync_out(st) < 0) return -1;
        if (b >= PyList_GET_SIZE(st->managers)) {
            PyErr_SetString(PyExc_IndexError, "re-recording loop: allocation without a manager");
            return -1;
        }
        PyObject *r = call3(PyList_GET_ITEM(st->managers, b), s_free, b, page, off);
        if (r == NULL) return -1;
        Py_DECREF(r);
        if (sync_in(st) < 0) return -1;
        if (st->exclusion != Py_None && st->window_open && st->used_epoch[b] == st->epoch) {
            if (item(st->sizes, b, &size) < 0) return -1;
            r = call3(st->exclusion, s_add, page, off, off + (size > 1 ? size : 1));
            if (r == NULL) return -1;
            Py_DECREF(r);
        }
    }
    *next = f;
    return 0;
}

static int visit(State *st, PyObject *event, int64_t i) {
    int64_t kind;
    const int64_t *k = st->code;
    if (item(st->kinds, i, &kind) < 0) return -1;
    if (kind == k[K_DISPATCH] || kind == k[K_DISPATCH_INDIRECT]) return dispatch(st, event, i, kind);
    if (kind == k[K_COPY] || kind == k[K_CLEAR]) return command(st, event, i, kind);
    if (kind == k[K_WRITE_BUFFER] || kind == k[K_MAPPED_WRITE]) return queue_write(st, i);
    if (kind == k[K_CREATE]) return create(st, event, i);
    if (kind == k[K_QUEUE_READ] || kind == k[K_MAP]) return queue_read(st, i, kind);
    if (kind == k[K_DESTROY]) return destroy(st, i);
    if (kind == k[K_SUBMIT] && st->honours_submits) return flush(st, i);
    PyErr_Format(PyExc_ValueError, "re-recording loop: event %lld of kind %lld is not one it visits",
                 (long long)i, (long long)kind);
    return -1;
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
        if (visit(st, event, i) < 0) return -1;
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

static int setup(State *st, PyObject *loop, PyObject *codes, PyObject *keep) {
    if (!PyTuple_Check(codes) || PyTuple_GET_SIZE(codes) != N_CODES) {
        PyErr_SetString(PyExc_TypeError, "re-recording loop: codes must be a tuple of the kind codes");
        return -1;
    }
    for (int k = 0; k < N_CODES; k++)
        if ((st->code[k] = PyLong_AsLongLong(PyTuple_GET_ITEM(codes, k))) == -1 && PyErr_Occurred()) return -1;
    PyObject *em = st->em = attr(loop, "emitter", keep, 1);
    PyObject *ends = attr(em, "end_mark", keep, 1);
    if (em == NULL || ends == NULL || !(st->out = attr(em, "out", keep, 1)) || !(st->syn = attr(em, "syn", keep, 1))
        || !(st->syn_rows = attr(em, "syn_rows", keep, 1)) || !(st->kinds = attr(loop, "kinds", keep, 0))
        || !(st->a0 = attr(loop, "a0", keep, 0)) || !(st->a1 = attr(loop, "a1", keep, 0))
        || !(st->a2 = attr(loop, "a2", keep, 0)) || !(st->command_of = attr(loop, "command_of", keep, 1))
        || !(st->cmd_submit = attr(loop, "cmd_submit", keep, 0)) || !(st->fp_lo = attr(loop, "fp_lo", keep, 0))
        || !(st->fp_hi = attr(loop, "fp_hi", keep, 0)) || !(st->fp_buffer = attr(loop, "fp_buffer", keep, 0))
        || !(st->pipeline = attr(loop, "pipeline", keep, 0))
        || !(st->pipeline_set = attr(loop, "pipeline_set", keep, 0))
        || !(st->group_set = attr(loop, "group_set", keep, 0)) || !(st->bind_key = attr(loop, "bind_key", keep, 1))
        || !(st->visits = attr(loop, "visits", keep, 0)) || !(st->free_at = attr(loop, "free_at", keep, 0)) || !(st->free_buffer = attr(loop, "free_buffer", keep, 0))
        || !(st->managers = attr(em, "managers", keep, 0)) || !(st->phys = attr(em, "phys", keep, 0))
        || !(st->offset = attr(em, "offset", keep, 0)) || !(st->sizes = attr(em, "sizes", keep, 0))
        || !(st->pooled = attr(em, "pooled_flags", keep, 0)) || !(st->exclusion = attr(em, "exclusion", keep, 1)))
        return -1;
    if (!PyDict_Check(st->command_of) || !PyDict_Check(st->bind_key) || !PyTuple_Check(ends)
        || PyTuple_GET_SIZE(ends) != 2 || !PyList_Check(PyTuple_GET_ITEM(ends, 0))
        || !PyList_Check(PyTuple_GET_ITEM(ends, 1))) {
        PyErr_SetString(PyExc_TypeError, "re-recording loop: command_of and bind_key are dicts, end_mark two lists");
        return -1;
    }
    st->end_rec = PyTuple_GET_ITEM(ends, 0);
    st->end_at = PyTuple_GET_ITEM(ends, 1);
    if (int_attr(loop, "n", &st->n) < 0 || int_attr(loop, "max_tasks", &st->max_tasks) < 0
        || int_attr(loop, "n_resources", &st->n_resources) < 0 || int_attr(em, "next_buffer", &st->next_buffer) < 0
        || int_attr(em, "cur", &st->cur) < 0 || bool_attr(loop, "pass_per_dispatch", &st->pass_per_dispatch) < 0
        || bool_attr(loop, "flush_write", &st->flush_write) < 0 || bool_attr(loop, "staged", &st->staged) < 0
        || bool_attr(loop, "honours_submits", &st->honours_submits) < 0
        || bool_attr(em, "window_open", &st->window_open) < 0)
        return -1;
    if (st->max_tasks == 0) st->max_tasks = -1;
    st->synced_cur = st->cur;
    st->synced_next = st->next_buffer;
    st->synced_window = st->window_open;
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
    st->n_groups = PyList_GET_SIZE(st->group_set);
    st->used_epoch = PyMem_Malloc((st->n_resources + 1) * sizeof(int64_t));
    st->sub_min = PyMem_Calloc(st->n_resources + 1, sizeof(int64_t));
    st->pass_groups = PyMem_Malloc((st->n_groups + 1) * sizeof(int64_t));
    if (st->used_epoch == NULL || st->sub_min == NULL || st->pass_groups == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (int64_t b = 0; b < st->n_resources; b++) st->used_epoch[b] = -1;
    for (int64_t g = 0; g < st->n_groups; g++) st->pass_groups[g] = -1;
    st->enc = st->cpass = st->pass_pipeline = -1;
    if ((st->n_out = size_of(st->out, REC)) < 0 || (st->n_syn = size_of(st->syn, SYN)) < 0
        || (st->n_rows = size_of(st->syn_rows, ROW)) < 0)
        return -1;
    return 0;
}

static PyObject *rerecord(PyObject *self, PyObject *args) {
    PyObject *loop, *codes;
    if (!PyArg_ParseTuple(args, "OO", &loop, &codes)) return NULL;
    PyObject *keep = PyList_New(0);
    if (keep == NULL) return NULL;
    State st;
    memset(&st, 0, sizeof st);
    int ok = setup(&st, loop, codes, keep) == 0 && run(&st) == 0;
    if (st.have_payloads) {
        PyBuffer_Release(&st.writes);
        PyBuffer_Release(&st.payloads);
    }
    PyMem_Free(st.out_buf.data);
    PyMem_Free(st.syn_buf.data);
    PyMem_Free(st.rows_buf.data);
    PyMem_Free(st.drops.data);
    PyMem_Free(st.used_epoch);
    PyMem_Free(st.sub_min);
    PyMem_Free(st.pass_groups);
    Py_DECREF(keep);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"rerecord", rerecord, METH_VARARGS,
     "rerecord(loop, codes): RerecordingLoop.run for a program without a render side (codes: the kind codes)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_loop", "The re-recording loop's hot path.", -1, methods,
                                     NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__loop(void) {
    if (!(s_frombytes = PyUnicode_InternFromString("frombytes")) || !(s_cur = PyUnicode_InternFromString("cur"))
        || !(s_window_open = PyUnicode_InternFromString("window_open"))
        || !(s_next_buffer = PyUnicode_InternFromString("next_buffer"))
        || !(s_close_window = PyUnicode_InternFromString("close_window"))
        || !(s_create = PyUnicode_InternFromString("create")) || !(s_free = PyUnicode_InternFromString("free"))
        || !(s_add = PyUnicode_InternFromString("add")))
        return NULL;
    return PyModule_Create(&module);
}
