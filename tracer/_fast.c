/* The recorder's hot path in C: the recorder's lock (RLock: threading.RLock's acquire and release,
 * which a Hook takes and gives back without a method call), the wrapper of a wgpu method (Hook), the
 * call-site lookup of a frame that carries a token (Lookup), the append cursors of the writer
 * (Cursors, a base of tracer/journal.py's writer) and the append of an event into the writer's
 * journal (Appender). Each does exactly what its Python version does (instrument.py, sites.py,
 * traces/writer.py's TraceWriter.append) and hands every other case to it: a Hook runs the Python
 * wrapper for a call it cannot bind (arguments that do not fit the method's parameters, a sequence
 * given other than as a list or a tuple), a Lookup the Python lookup for a frame whose token does
 * not know the offset yet, an Appender the writer's append for rows that are not a list or tuple of
 * at most 64 tuples of ints, rows or a slot with no room left, a given time, or a value that is not
 * a 64-bit integer. A Hook that writes an event itself calls the Lookup and the Appender in C, with no
 * int object made for its values. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>
#include <structmember.h>
#include <stddef.h>
#include <string.h>

/* time.perf_counter_ns(), the writer's clock */
#if PY_VERSION_HEX >= 0x030D0000
static long long perf_counter_ns(void) {
    PyTime_t t;
    return PyTime_PerfCounterRaw(&t) < 0 ? 0 : (long long)t;
}
#else
static long long perf_counter_ns(void) { return (long long)_PyTime_GetPerfCounter(); }
#endif

static PyObject *str_site;
static PyObject not_taken_object;  /* event(): the handler writes this one */
#define NOT_TAKEN (&not_taken_object)
static PyObject *str_signalled, *str_deliver, *str_internal_error, *str_f_trace;
static PyObject *str_t0, *str_append, *str_rows;
static PyObject *small[4];

#define SLOT_WIDTH 11  /* traces/codec.py: the event's ten columns, then the seal */
static PyTypeObject LookupType, AppenderType;
typedef struct Lookup Lookup;
typedef struct Appender Appender;
static PyObject *lookup_site(Lookup *l, PyObject *frame);
static int append_plain(Appender *a, long long slot[SLOT_WIDTH], const long long *rows, Py_ssize_t nrows);

/* -- RLock: the recorder's lock (threading.RLock's behaviour), taken by a Hook without a call ---- */

typedef struct {
    PyObject_HEAD
    PyThread_type_lock lock;
    unsigned long owner;   /* the holder's thread ident, while count > 0 */
    unsigned long count;
} RLock;

/* 0 once held (again, by this thread), -1 with an exception: a signal handler's, while blocked. */
static int rlock_take(RLock *r) {
    unsigned long me = PyThread_get_thread_ident();
    if (r->count > 0 && r->owner == me) {
        if (r->count == ULONG_MAX) {
            PyErr_SetString(PyExc_OverflowError, "internal lock count overflowed");
            return -1;
        }
        r->count++;
        return 0;
    }
    if (!PyThread_acquire_lock(r->lock, NOWAIT_LOCK)) {
        PyLockStatus status;
        do {  /* interruptible, as threading's: the signal handlers run, and may raise */
            Py_BEGIN_ALLOW_THREADS
            status = PyThread_acquire_lock_timed(r->lock, -1, 1);
            Py_END_ALLOW_THREADS
            if (status == PY_LOCK_INTR && Py_MakePendingCalls() < 0)
                return -1;
        } while (status != PY_LOCK_ACQUIRED);
    }
    r->owner = me;
    r->count = 1;
    return 0;
}

static int rlock_give(RLock *r) {
    if (r->count == 0 || r->owner != PyThread_get_thread_ident()) {
        PyErr_SetString(PyExc_RuntimeError, "cannot release un-acquired lock");
        return -1;
    }
    if (--r->count == 0)
        PyThread_release_lock(r->lock);
    return 0;
}

static PyObject *rlock_acquire(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
    if (nargs != 0 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "the recorder's lock is taken without a timeout: acquire()");
        return NULL;
    }
    return rlock_take((RLock *)self) < 0 ? NULL : Py_NewRef(Py_True);
}

static PyObject *rlock_release(PyObject *self, PyObject *unused) {
    return rlock_give((RLock *)self) < 0 ? NULL : Py_NewRef(Py_None);
}

static PyObject *rlock_exit(PyObject *self, PyObject *args) {
    return rlock_release(self, NULL);
}

static PyObject *rlock_is_owned(PyObject *self, PyObject *unused) {
    RLock *r = (RLock *)self;
    return PyBool_FromLong(r->count > 0 && r->owner == PyThread_get_thread_ident());
}

/* In a forked child: a new lock, free; the old one, which a thread of the parent may have held, is left. */
static PyObject *rlock_at_fork_reinit(PyObject *self, PyObject *unused) {
    RLock *r = (RLock *)self;
    PyThread_type_lock lock = PyThread_allocate_lock();
    if (lock == NULL)
        return PyErr_NoMemory();
    r->lock = lock;
    r->owner = 0;
    r->count = 0;
    Py_RETURN_NONE;
}

static PyObject *rlock_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    static char *names[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, ":RLock", names))
        return NULL;
    RLock *r = (RLock *)type->tp_alloc(type, 0);
    if (r == NULL)
        return NULL;
    r->lock = PyThread_allocate_lock();
    if (r->lock == NULL) {
        Py_DECREF(r);
        return PyErr_NoMemory();
    }
    return (PyObject *)r;
}

static void rlock_dealloc(RLock *r) {
    if (r->lock != NULL) {
        if (r->count > 0)
            PyThread_release_lock(r->lock);
        PyThread_free_lock(r->lock);
    }
    Py_TYPE(r)->tp_free((PyObject *)r);
}

static PyMethodDef rlock_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))rlock_acquire, METH_FASTCALL | METH_KEYWORDS,
     "Take the lock, waiting for it; again if this thread holds it. Returns True."},
    {"release", rlock_release, METH_NOARGS, "Give one level of the lock back."},
    {"__enter__", (PyCFunction)(void (*)(void))rlock_acquire, METH_FASTCALL | METH_KEYWORDS, NULL},
    {"__exit__", rlock_exit, METH_VARARGS, NULL},
    {"_is_owned", rlock_is_owned, METH_NOARGS, "Whether this thread holds the lock."},
    {"_at_fork_reinit", rlock_at_fork_reinit, METH_NOARGS, "In a forked child: the lock, free."},
    {NULL},
};

static PyTypeObject RLockType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "wgtrace.tracer._fast.RLock",
    .tp_doc = "The recorder's re-entrant lock: threading.RLock's acquire() and release(), which a Hook takes "
              "and gives back in C, with no method call.",
    .tp_basicsize = sizeof(RLock),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = rlock_new,
    .tp_dealloc = (destructor)rlock_dealloc,
    .tp_methods = rlock_methods,
};

/* -- Hook: the template of instrument.py, for calls it can bind ---------------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *dict;
    PyObject *wrapper;     /* the Python wrapper: every call this one does not take */
    PyObject *real;        /* the wgpu method */
    PyObject *handler;
    PyObject *rec;
    PyObject *rec_dict;    /* rec.__dict__: signalled, site and append, read without the class's lookup */
    PyObject *state;       /* rec.state, a list of one int */
    PyObject *drops;       /* rec.drops, a deque */
    PyObject *drain_drops;
    RLock *lock;           /* rec.lock */
    PyObject *raised;      /* instrument._wrap's raised(frame, obj, error) */
    PyObject *names;       /* the parameters after self */
    PyObject *defaults;    /* their defaults, ``empty`` for one without */
    PyObject *empty;       /* inspect.Parameter.empty */
    PyObject *keywords;    /* the names of the keyword-only parameters, the last ones; NULL if none */
    Py_ssize_t positional; /* the positional-or-keyword parameters, self included */
    Py_ssize_t total;      /* every parameter, self included */
    unsigned listed;       /* bit i: parameter i must be a list or tuple (handlers.takes_sequences) */
    int result_only;
    PyObject *kind;        /* the event a call of plain values makes, else NULL: see event() */
    PyObject *key;         /* rec.key, the attribute that holds an object's id */
    char spec[17];
    vectorcallfunc vectorcall;
} Hook;

/* 1 with the value of an exact int that fits 64 bits, else 0 (no exception); one digit inline. */
static inline int int64_of(PyObject *v, long long *out) {
    if (!PyLong_CheckExact(v))
        return 0;
#if PY_VERSION_HEX >= 0x030C0000
    if (PyUnstable_Long_IsCompact((PyLongObject *)v)) {
        *out = PyUnstable_Long_CompactValue((PyLongObject *)v);
        return 1;
    }
#else
    Py_ssize_t size = Py_SIZE(v);
    if (size >= -1 && size <= 1) {
        *out = (long long)size * ((PyLongObject *)v)->ob_digit[0];  /* digit 0 is unset where size is 0 */
        return 1;
    }
#endif
    int overflow;
    *out = PyLong_AsLongLongAndOverflow(v, &overflow);
    return !overflow;
}

static int state_is(PyObject *state, long value) {
    return PyList_GET_ITEM(state, 0) == small[value];
}

static void state_set(PyObject *state, long value) {
    PyObject *old = PyList_GET_ITEM(state, 0);
    Py_INCREF(small[value]);
    PyList_SET_ITEM(state, 0, small[value]);
    Py_DECREF(old);
}

/* The handler's arguments: rec, frame, self, result, then every parameter after self as the Python
 * wrapper passes them: positional-or-keyword ones by position, keyword-only ones by name. */
static PyObject *run_handler(Hook *h, PyObject *frame, PyObject *const *bound, PyObject *result) {
    PyObject *stack[4 + 16];
    stack[0] = h->rec;
    stack[1] = frame;
    stack[2] = bound[0];
    stack[3] = result;
    if (h->result_only)
        return PyObject_Vectorcall(h->handler, stack, 4, NULL);
    for (Py_ssize_t i = 1; i < h->total; i++)
        stack[3 + i] = bound[i];
    return PyObject_Vectorcall(h->handler, stack, 3 + h->positional, h->keywords);
}

/* The index of the parameter after self called name, else -1. */
static Py_ssize_t parameter(Hook *h, PyObject *name) {
    Py_ssize_t n = PyTuple_GET_SIZE(h->names);
    for (Py_ssize_t j = 0; j < n; j++)
        if (PyTuple_GET_ITEM(h->names, j) == name)  /* both interned, as a rule */
            return j;
    for (Py_ssize_t j = 0; j < n; j++)
        if (PyUnicode_Compare(PyTuple_GET_ITEM(h->names, j), name) == 0)
            return j;
    return -1;
}

/* The call's arguments in parameter order, self first, the method's defaults for those not given: 1, or
 * 0 where the Python wrapper takes the call (more positional arguments than parameters, a keyword that
 * is not a parameter's or names one given already, a parameter without a default missing, a sequence
 * given other than as a list or a tuple). */
static int bind(Hook *h, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, PyObject **bound) {
    if (nargs < 1 || nargs > h->positional)
        return 0;
    Py_ssize_t i = 0;
    for (; i < nargs; i++)
        bound[i] = args[i];
    for (; i < h->total; i++)
        bound[i] = NULL;
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t k = 0; k < nkw; k++) {
        Py_ssize_t j = parameter(h, PyTuple_GET_ITEM(kwnames, k));
        if (j < 0 || bound[j + 1] != NULL)
            return 0;
        bound[j + 1] = args[nargs + k];
    }
    for (i = 1; i < h->total; i++) {
        if (bound[i] == NULL) {
            bound[i] = PyTuple_GET_ITEM(h->defaults, i - 1);
            if (bound[i] == h->empty)
                return 0;
        }
        if ((h->listed >> i & 1) && !PyList_CheckExact(bound[i]) && !PyTuple_CheckExact(bound[i]))
            return 0;
    }
    return 1;
}

/* The event of handlers.plain_event's handlers: kind, site, then per parameter of the spec ('r': the
 * object's id, 'i': an int as given, '-': the method's default, not written). NOT_TAKEN where the
 * handler must run: an object without an id yet (the handler adopts it), a value that is not a plain
 * int, a parameter given other than its default, a recorder whose site or append is not ours. The
 * event goes straight into its slot (append_plain) where every value fits 64 bits, else to the
 * writer's own append. */
static PyObject *event(Hook *h, PyObject *frame, PyObject *const *bound) {
    PyObject *values[2 + 16];
    PyObject *owned[17];
    long long slot[SLOT_WIDTH] = {0};
    Py_ssize_t n = 2, nowned = 0;
    PyObject *result = NOT_TAKEN;
    int plain;
    values[0] = h->kind;
    for (Py_ssize_t i = 0; i < h->total; i++) {
        PyObject *arg = bound[i];
        char c = h->spec[i];
        if (c == 'r') {
            PyObject *id = PyObject_GetAttr(arg, h->key);
            if (id == NULL) {
                if (PyErr_ExceptionMatches(PyExc_AttributeError))
                    PyErr_Clear();
                else
                    result = NULL;
                goto done;
            }
            owned[nowned++] = id;
            arg = id;
        } else if (c == '-') {
            if (i == 0 || arg != PyTuple_GET_ITEM(h->defaults, i - 1))
                goto done;
            continue;
        }
        if (!PyLong_CheckExact(arg))
            goto done;
        values[n++] = arg;
    }
    PyObject *site = PyDict_GetItemWithError(h->rec_dict, str_site);
    PyObject *append = site == NULL ? NULL : PyDict_GetItemWithError(h->rec_dict, str_append);
    if (append == NULL || Py_TYPE(site) != &LookupType || Py_TYPE(append) != &AppenderType) {
        result = PyErr_Occurred() ? NULL : NOT_TAKEN;  /* no writer yet: the handler's to open */
        goto done;
    }
    Py_INCREF(site);  /* the Python lookup may change the recorder's dict */
    Py_INCREF(append);
    values[1] = lookup_site((Lookup *)site, frame);
    Py_DECREF(site);
    if (values[1] == NULL) {
        Py_DECREF(append);
        result = NULL;
        goto done;
    }
    owned[nowned++] = values[1];
    plain = n <= SLOT_WIDTH - 3;  /* kind, site, a0 ... a5 */
    for (Py_ssize_t i = 0; i < n && plain; i++)
        plain = int64_of(values[i], &slot[i == 0 ? 0 : i + 1]);  /* kind, then t, then site, a0 ... a5 */
    int written = plain ? append_plain((Appender *)append, slot, NULL, 0) : 0;
    if (written < 0)
        result = NULL;
    else if (written)
        result = Py_NewRef(Py_None);
    else
        result = PyObject_Vectorcall(append, values, n, NULL);
    Py_DECREF(append);
done:
    for (Py_ssize_t i = 0; i < nowned; i++)
        Py_DECREF(owned[i]);
    return result;
}

static PyObject *hook_record(Hook *h, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                             PyObject *const *bound) {
    PyObject *frame = (PyObject *)PyEval_GetFrame();  /* the caller's: this wrapper has no frame */
    state_set(h->state, 1);
    PyObject *result = PyObject_Vectorcall(h->real, args, nargs, kwnames);
    if (result == NULL) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        if (tb != NULL)
            PyException_SetTraceback(value, tb);
        PyObject *r = PyObject_CallFunctionObjArgs(h->raised, frame ? frame : Py_None, args[0], value, NULL);
        if (r == NULL) {  /* what the Python wrapper would raise then: the new error, the call's as its context */
            PyObject *t2, *v2, *tb2;
            PyErr_Fetch(&t2, &v2, &tb2);
            PyErr_NormalizeException(&t2, &v2, &tb2);
            PyException_SetContext(v2, value);
            Py_XDECREF(type);
            Py_XDECREF(tb);
            PyErr_Restore(t2, v2, tb2);
            return NULL;
        }
        Py_DECREF(r);
        PyErr_Restore(type, value, tb);
        return NULL;
    }
    state_set(h->state, 2);
    PyObject *done = NULL;
    Py_ssize_t pending = PyObject_Length(h->drops);
    if (pending > 0)
        done = PyObject_CallNoArgs(h->drain_drops);
    else if (pending == 0)
        done = Py_NewRef(Py_None);
    if (done != NULL) {
        Py_DECREF(done);
        done = h->kind == NULL ? NOT_TAKEN : event(h, frame ? frame : Py_None, bound);
        if (done == NOT_TAKEN)
            done = run_handler(h, frame ? frame : Py_None, bound, result);
    }
    if (done == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_Exception)) {  /* KeyboardInterrupt, SystemExit: the program's */
            Py_DECREF(result);
            return NULL;
        }
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        if (tb != NULL)
            PyException_SetTraceback(value, tb);
        done = PyObject_CallMethodOneArg(h->rec, str_internal_error, value);
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
        if (done == NULL) {
            Py_DECREF(result);
            return NULL;
        }
    }
    Py_DECREF(done);
    if (state_is(h->state, 2))
        state_set(h->state, 0);
    return result;
}

static PyObject *hook_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    Hook *h = (Hook *)self;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *bound[16];
    if (!bind(h, args, nargs, kwnames, bound))
        return PyObject_Vectorcall(h->wrapper, args, nargsf, kwnames);
    if (rlock_take(h->lock) < 0)
        return NULL;
    PyObject *result;
    if (!state_is(h->state, 0))  /* nested in a recorded call, or the recording has stopped */
        result = PyObject_Vectorcall(h->real, args, nargs, kwnames);
    else
        result = hook_record(h, args, nargs, kwnames, bound);
    /* finally: the lock goes back whatever happened, the pending exception kept */
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (rlock_give(h->lock) < 0) {
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
        Py_XDECREF(result);
        return NULL;
    }
    PyErr_Restore(type, value, tb);
    if (result == NULL)
        return NULL;
    PyObject *signalled = PyDict_GetItemWithError(h->rec_dict, str_signalled);
    if (signalled == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_AttributeError, "the recorder has no 'signalled'");
        Py_DECREF(result);
        return NULL;
    }
    Py_INCREF(signalled);
    int is = PyObject_IsTrue(signalled);
    if (is > 0) {
        PyObject *r = PyObject_CallMethodOneArg(h->rec, str_deliver, signalled);
        if (r == NULL)
            is = -1;
        Py_XDECREF(r);
    }
    Py_DECREF(signalled);
    if (is < 0) {
        Py_DECREF(result);
        return NULL;
    }
    return result;
}

static PyObject *hook_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"wrapper", "real", "handler", "rec", "positional", "names", "defaults", "empty",
                         "result_only", "raised", "listed", "kind", "spec", NULL};
    PyObject *wrapper, *real, *handler, *rec, *names, *defaults, *empty, *raised, *kind = Py_None;
    Py_ssize_t positional, spec_length = 0;
    int result_only;
    unsigned listed;
    const char *spec = "";
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOOnO!O!OpOI|Os#", kw, &wrapper, &real, &handler, &rec,
                                     &positional, &PyTuple_Type, &names, &PyTuple_Type, &defaults, &empty,
                                     &result_only, &raised, &listed, &kind, &spec, &spec_length))
        return NULL;
    if (kind != Py_None && !PyLong_CheckExact(kind)) {
        PyErr_SetString(PyExc_TypeError, "an event's kind is an int, or None for none");
        return NULL;
    }
    Py_ssize_t total = 1 + PyTuple_GET_SIZE(names);
    if (total > 16 || PyTuple_GET_SIZE(defaults) != total - 1 || positional < 1 || positional > total) {
        PyErr_SetString(PyExc_ValueError, "a Hook takes self and at most 15 more parameters, with their defaults");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < total - 1; i++)
        if (!PyUnicode_CheckExact(PyTuple_GET_ITEM(names, i))) {
            PyErr_SetString(PyExc_TypeError, "a Hook's parameter names are strings");
            return NULL;
        }
    if (kind != Py_None && (spec_length != total || spec[0] != 'r' || strspn(spec, "ri-") != (size_t)spec_length)) {
        PyErr_SetString(PyExc_ValueError, "an event's spec: 'r' for self, then 'r', 'i' or '-' per parameter");
        return NULL;
    }
    Hook *h = (Hook *)type->tp_alloc(type, 0);
    if (h == NULL)
        return NULL;
    h->wrapper = Py_NewRef(wrapper);
    h->real = Py_NewRef(real);
    h->handler = Py_NewRef(handler);
    h->rec = Py_NewRef(rec);
    h->names = Py_NewRef(names);
    h->defaults = Py_NewRef(defaults);
    h->empty = Py_NewRef(empty);
    h->raised = Py_NewRef(raised);
    h->positional = positional;
    h->total = total;
    h->listed = listed;
    h->result_only = result_only;
    h->vectorcall = hook_vectorcall;
    if (positional < total)
        h->keywords = PyTuple_GetSlice(names, positional - 1, total - 1);
    if (kind != Py_None) {
        h->kind = Py_NewRef(kind);
        memcpy(h->spec, spec, (size_t)spec_length);
        h->key = PyObject_GetAttrString(rec, "key");
    }
    h->lock = (RLock *)PyObject_GetAttrString(rec, "lock");
    h->rec_dict = PyObject_GenericGetDict(rec, NULL);
    h->state = PyObject_GetAttrString(rec, "state");
    h->drops = PyObject_GetAttrString(rec, "drops");
    h->drain_drops = PyObject_GetAttrString(rec, "drain_drops");
    if (PyErr_Occurred()) {
        Py_DECREF(h);
        return NULL;
    }
    if (!PyList_CheckExact(h->state) || PyList_GET_SIZE(h->state) != 1) {
        PyErr_SetString(PyExc_TypeError, "rec.state must be a list of one int");
        Py_DECREF(h);
        return NULL;
    }
    if (Py_TYPE(h->lock) != &RLockType) {
        PyErr_SetString(PyExc_TypeError, "rec.lock must be a _fast.RLock");
        Py_DECREF(h);
        return NULL;
    }
    return (PyObject *)h;
}

static int hook_traverse(Hook *h, visitproc visit, void *arg) {
    Py_VISIT(h->dict);
    Py_VISIT(h->wrapper);
    Py_VISIT(h->real);
    Py_VISIT(h->handler);
    Py_VISIT(h->rec);
    Py_VISIT(h->rec_dict);
    Py_VISIT(h->state);
    Py_VISIT(h->drops);
    Py_VISIT(h->drain_drops);
    Py_VISIT(h->lock);
    Py_VISIT(h->raised);
    Py_VISIT(h->names);
    Py_VISIT(h->defaults);
    Py_VISIT(h->empty);
    Py_VISIT(h->keywords);
    Py_VISIT(h->kind);
    Py_VISIT(h->key);
    return 0;
}

static int hook_clear(Hook *h) {
    Py_CLEAR(h->dict);
    Py_CLEAR(h->wrapper);
    Py_CLEAR(h->real);
    Py_CLEAR(h->handler);
    Py_CLEAR(h->rec);
    Py_CLEAR(h->rec_dict);
    Py_CLEAR(h->state);
    Py_CLEAR(h->drops);
    Py_CLEAR(h->drain_drops);
    Py_CLEAR(h->lock);
    Py_CLEAR(h->raised);
    Py_CLEAR(h->names);
    Py_CLEAR(h->defaults);
    Py_CLEAR(h->empty);
    Py_CLEAR(h->keywords);
    Py_CLEAR(h->kind);
    Py_CLEAR(h->key);
    return 0;
}

static void hook_dealloc(Hook *h) {
    PyObject_GC_UnTrack(h);
    hook_clear(h);
    Py_TYPE(h)->tp_free((PyObject *)h);
}

static PyObject *hook_get(PyObject *self, PyObject *obj, PyObject *type) {
    if (obj == NULL || obj == Py_None)
        return Py_NewRef(self);
    return PyMethod_New(self, obj);
}

static PyGetSetDef hook_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL},
};

static PyTypeObject HookType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "wgtrace.tracer._fast.Hook",
    .tp_doc = "A recording wrapper of a wgpu method: instrument.py's template, for the calls it can bind.",
    .tp_basicsize = sizeof(Hook),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_new = hook_new,
    .tp_dealloc = (destructor)hook_dealloc,
    .tp_traverse = (traverseproc)hook_traverse,
    .tp_clear = (inquiry)hook_clear,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(Hook, vectorcall),
    .tp_descr_get = hook_get,
    .tp_dictoffset = offsetof(Hook, dict),
    .tp_getset = hook_getset,
};

/* -- Lookup: sites.py's lookup, for a frame whose token knows the offset -------------------- */

#define RECENT 16  /* (token, offset) -> key entries a Lookup keeps */

struct Lookup {
    PyObject_HEAD
    PyObject *token_type;
    PyObject *fallback;
    vectorcallfunc vectorcall;
    /* The keys found last, by token and offset: a token never changes the key of an offset once it has
     * one, and an entry keeps its token (not its frame) alive, so a hit needs no int object for the
     * offset and no dict lookup. */
    struct { PyObject *token, *key; int lasti; } recent[RECENT];
};

/* The key of the call made from frame: its token's, else the Python lookup's. */
static PyObject *lookup_site(Lookup *l, PyObject *frame) {
    if (PyFrame_Check(frame)) {
        PyObject *token = PyObject_GetAttr(frame, str_f_trace);
        if (token == NULL)
            return NULL;
        if ((PyObject *)Py_TYPE(token) == l->token_type) {
            int at = PyFrame_GetLasti((PyFrameObject *)frame);
            size_t i = (((size_t)token >> 4) ^ ((size_t)at >> 1)) % RECENT;
            if (l->recent[i].token == token && l->recent[i].lasti == at) {
                Py_DECREF(token);
                return Py_NewRef(l->recent[i].key);
            }
            PyObject *lasti = PyLong_FromLong(at);
            if (lasti == NULL) {
                Py_DECREF(token);
                return NULL;
            }
            PyObject *key = PyDict_GetItemWithError(token, lasti);
            Py_DECREF(lasti);
            if (key != NULL) {
                Py_XSETREF(l->recent[i].token, token);  /* the reference GetAttr gave */
                Py_XSETREF(l->recent[i].key, Py_NewRef(key));
                l->recent[i].lasti = at;
                return Py_NewRef(key);
            }
            Py_DECREF(token);
            if (PyErr_Occurred())
                return NULL;
        } else {
            Py_DECREF(token);
        }
    }
    return PyObject_CallOneArg(l->fallback, frame);
}

static PyObject *lookup_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    Lookup *l = (Lookup *)self;
    if (kwnames == NULL && PyVectorcall_NARGS(nargsf) == 1)
        return lookup_site(l, args[0]);
    return PyObject_Vectorcall(l->fallback, args, nargsf, kwnames);
}

static PyObject *lookup_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"token_type", "fallback", NULL};
    PyObject *token_type, *fallback;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O", names, &PyType_Type, &token_type, &fallback))
        return NULL;
    Lookup *l = (Lookup *)type->tp_alloc(type, 0);
    if (l == NULL)
        return NULL;
    l->token_type = Py_NewRef(token_type);
    l->fallback = Py_NewRef(fallback);
    l->vectorcall = lookup_vectorcall;
    return (PyObject *)l;
}

static int lookup_traverse(Lookup *l, visitproc visit, void *arg) {
    Py_VISIT(l->token_type);
    Py_VISIT(l->fallback);
    for (int i = 0; i < RECENT; i++) {
        Py_VISIT(l->recent[i].token);
        Py_VISIT(l->recent[i].key);
    }
    return 0;
}

static int lookup_clear(Lookup *l) {
    Py_CLEAR(l->token_type);
    Py_CLEAR(l->fallback);
    for (int i = 0; i < RECENT; i++) {
        Py_CLEAR(l->recent[i].token);
        Py_CLEAR(l->recent[i].key);
    }
    return 0;
}

static void lookup_dealloc(Lookup *l) {
    PyObject_GC_UnTrack(l);
    lookup_clear(l);
    Py_TYPE(l)->tp_free((PyObject *)l);
}

static PyTypeObject LookupType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "wgtrace.tracer._fast.Lookup",
    .tp_doc = "sites.Sites.lookup for a frame whose token has the key of its offset; else the Python lookup.",
    .tp_basicsize = sizeof(Lookup),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_new = lookup_new,
    .tp_dealloc = (destructor)lookup_dealloc,
    .tp_traverse = (traverseproc)lookup_traverse,
    .tp_clear = (inquiry)lookup_clear,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(Lookup, vectorcall),
};

/* -- Cursors: the append cursors of the writer (tracer/journal.py), as C integers -------------- */

typedef struct {
    PyObject_HEAD
    long long n, epos, elast, flush_due, rpos, rlimit;
} Cursors;

static PyMemberDef cursors_members[] = {
    {"_n", T_LONGLONG, offsetof(Cursors, n), 0, "events appended"},
    {"_epos", T_LONGLONG, offsetof(Cursors, epos), 0, "the byte offset of the next slot"},
    {"_elast", T_LONGLONG, offsetof(Cursors, elast), 0, "the slot after which _next_slot is due"},
    {"_flush_due", T_LONGLONG, offsetof(Cursors, flush_due), 0, "the time at which _next_slot is due"},
    {"_rpos", T_LONGLONG, offsetof(Cursors, rpos), 0, "the next row"},
    {"_rlimit", T_LONGLONG, offsetof(Cursors, rlimit), 0, "the rows that fit before _rows_room is due"},
    {NULL},
};

static PyTypeObject CursorsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "wgtrace.tracer._fast.Cursors",
    .tp_doc = "A base of the recording's writer: its append cursors as C integers, which the Appender reads "
              "and writes in place.",
    .tp_basicsize = sizeof(Cursors),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = PyType_GenericNew,
    .tp_members = cursors_members,
};

/* -- Appender: TraceWriter.append of an event without rows ---------------------------------- */

struct Appender {
    PyObject_HEAD
    PyObject *writer;    /* a Cursors */
    PyObject *append;    /* the writer's own append */
    long long t0;        /* the writer's clock origin (_t0, set once when it was made) */
    Py_ssize_t ev_at;    /* where the writer's slot _ev (the slots area) is */
    Py_ssize_t rows_at;  /* and its slot _rows_mm (the rows area) */
    vectorcallfunc vectorcall;
};

#define ROW_WIDTH 5     /* traces/codec.py: a row's values */
#define MAX_ROWS 64     /* the rows an event may have on this path; more go to the writer's append */

/* Copies len bytes to offset at of the writable buffer obj: 1, or 0 where obj has no room there. */
static int put(PyObject *obj, long long at, const void *data, size_t len) {
    Py_buffer view;
    if (obj == NULL || PyObject_GetBuffer(obj, &view, PyBUF_WRITABLE) < 0) {
        PyErr_Clear();
        return 0;
    }
    int fits = at >= 0 && at + (long long)len <= view.len;
    if (fits)
        memcpy((char *)view.buf + at, data, len);
    PyBuffer_Release(&view);
    return fits;
}

/* The rows of an event as TraceWriter.append takes them (a list or tuple of tuples of at most ROW_WIDTH
 * ints, padded with zeros) into out: how many, or -1 where they are not such rows or too many. */
static Py_ssize_t rows_of(PyObject *rows, long long out[MAX_ROWS * ROW_WIDTH]) {
    if (rows == Py_None)
        return 0;
    if (!PyList_CheckExact(rows) && !PyTuple_CheckExact(rows))
        return -1;
    Py_ssize_t nrows = PySequence_Fast_GET_SIZE(rows);
    if (nrows > MAX_ROWS)
        return -1;
    memset(out, 0, (size_t)nrows * ROW_WIDTH * sizeof(long long));
    for (Py_ssize_t r = 0; r < nrows; r++) {
        PyObject *row = PySequence_Fast_GET_ITEM(rows, r);
        if (!PyTuple_CheckExact(row) || PyTuple_GET_SIZE(row) > ROW_WIDTH)
            return -1;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(row); i++)
            if (!int64_of(PyTuple_GET_ITEM(row, i), &out[r * ROW_WIDTH + i]))
                return -1;
    }
    return nrows;
}

/* The event in slot (kind, -, site, a0 ... a5; the rest is written here) and its nrows rows into the
 * journal, the rows first and the slot's seal last: 1 if written, 0 if it is the writer's own append's
 * to write (no area yet, no room for the rows or the slot, a big-endian machine), -1 on an error. */
static int append_plain(Appender *a, long long slot[SLOT_WIDTH], const long long *rows, Py_ssize_t nrows) {
#if PY_BIG_ENDIAN
    return 0;  /* the journal is little-endian */
#endif
    Cursors *c = (Cursors *)a->writer;
    long long epos = c->epos, n = c->n, rpos = c->rpos;
    if (nrows > 0 && (rpos + nrows > c->rlimit
                      || !put(*(PyObject **)((char *)a->writer + a->rows_at), rpos * ROW_WIDTH * 8, rows,
                              (size_t)nrows * ROW_WIDTH * sizeof(long long))))
        return 0;
    PyObject *ev = *(PyObject **)((char *)a->writer + a->ev_at);
    Py_buffer view;
    if (ev == NULL || PyObject_GetBuffer(ev, &view, PyBUF_WRITABLE) < 0) {
        PyErr_Clear();
        return 0;
    }
    if (epos < 0 || epos + (long long)(SLOT_WIDTH * sizeof(long long)) > view.len) {
        PyBuffer_Release(&view);
        return 0;
    }
    slot[1] = perf_counter_ns() - a->t0;
    slot[SLOT_WIDTH - 2] = nrows;
    slot[SLOT_WIDTH - 1] = n + 1;  /* the seal: written last */
    char *at = (char *)view.buf + epos;
    memcpy(at, slot, (SLOT_WIDTH - 1) * sizeof(long long));
    __atomic_store_n((long long *)at + SLOT_WIDTH - 1, slot[SLOT_WIDTH - 1], __ATOMIC_RELEASE);
    PyBuffer_Release(&view);
    c->rpos = rpos + nrows;
    c->epos = epos + SLOT_WIDTH * (long long)sizeof(long long);
    c->n = n + 1;
    if (epos >= c->elast || slot[1] >= c->flush_due) {
        PyObject *r = PyObject_CallMethod(a->writer, "_next_slot", "LL", epos, slot[1]);
        if (r == NULL)
            return -1;
        Py_DECREF(r);
    }
    return 1;
}

static PyObject *appender_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    Appender *a = (Appender *)self;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    long long slot[SLOT_WIDTH] = {0};
    long long rows[MAX_ROWS * ROW_WIDTH];
    Py_ssize_t nrows = 0;
    if (kwnames != NULL) {  /* rows=, the one keyword taken here */
        if (PyTuple_GET_SIZE(kwnames) != 1 || PyUnicode_Compare(PyTuple_GET_ITEM(kwnames, 0), str_rows) != 0)
            goto fallback;
        nrows = rows_of(args[nargs], rows);
        if (nrows < 0)
            goto fallback;
    }
    if (nargs < 2 || nargs > 8)
        goto fallback;
    for (Py_ssize_t i = 0; i < nargs; i++) {
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(args[i], &overflow);
        if (overflow || (v == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            goto fallback;
        }
        slot[i == 0 ? 0 : i + 1] = v;  /* kind, then t, then site, a0 ... a5 */
    }
    long long n = ((Cursors *)a->writer)->n;
    int written = append_plain(a, slot, rows, nrows);
    if (written < 0)
        return NULL;
    if (written)
        return PyLong_FromLongLong(n);
fallback:
    return PyObject_Vectorcall(a->append, args, nargsf, kwnames);
}

/* The offset of the writer's slot ``name`` of the given member type, checked against ``expected`` where
 * that is not -1; -1 with TypeError where the writer keeps it elsewhere. */
static Py_ssize_t member_offset(PyObject *writer, const char *name, int type, Py_ssize_t expected) {
    PyObject *descr = PyObject_GetAttrString((PyObject *)Py_TYPE(writer), name);
    Py_ssize_t at = -1;
    if (descr != NULL && Py_TYPE(descr) == &PyMemberDescr_Type && ((PyMemberDescrObject *)descr)->d_member->type == type
            && (expected == -1 || ((PyMemberDescrObject *)descr)->d_member->offset == expected))
        at = ((PyMemberDescrObject *)descr)->d_member->offset;
    Py_XDECREF(descr);
    if (at == -1) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "the writer keeps %s elsewhere than its Cursors (tracer/journal.py)", name);
    }
    return at;
}

static PyObject *appender_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"writer", NULL};
    PyObject *writer;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!", names, &CursorsType, &writer))
        return NULL;
    for (PyMemberDef *m = cursors_members; m->name != NULL; m++)
        if (member_offset(writer, m->name, T_LONGLONG, m->offset) < 0)
            return NULL;
    Py_ssize_t ev_at = member_offset(writer, "_ev", T_OBJECT_EX, -1);
    Py_ssize_t rows_at = member_offset(writer, "_rows_mm", T_OBJECT_EX, -1);
    if (ev_at < 0 || rows_at < 0)
        return NULL;
    PyObject *t0_object = PyObject_GetAttr(writer, str_t0);
    if (t0_object == NULL)
        return NULL;
    long long t0 = PyLong_AsLongLong(t0_object);
    Py_DECREF(t0_object);
    if (t0 == -1 && PyErr_Occurred())
        return NULL;
    PyObject *append = PyObject_GetAttr(writer, str_append);
    if (append == NULL)
        return NULL;
    Appender *a = (Appender *)type->tp_alloc(type, 0);
    if (a == NULL) {
        Py_DECREF(append);
        return NULL;
    }
    a->writer = Py_NewRef(writer);
    a->append = append;
    a->t0 = t0;
    a->ev_at = ev_at;
    a->rows_at = rows_at;
    a->vectorcall = appender_vectorcall;
    return (PyObject *)a;
}

static int appender_traverse(Appender *a, visitproc visit, void *arg) {
    Py_VISIT(a->writer);
    Py_VISIT(a->append);
    return 0;
}

static int appender_clear(Appender *a) {
    Py_CLEAR(a->writer);
    Py_CLEAR(a->append);
    return 0;
}

static void appender_dealloc(Appender *a) {
    PyObject_GC_UnTrack(a);
    appender_clear(a);
    Py_TYPE(a)->tp_free((PyObject *)a);
}

static PyTypeObject AppenderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "wgtrace.tracer._fast.Appender",
    .tp_doc = "TraceWriter.append for an event without rows, straight into its journal slot; else the writer's.",
    .tp_basicsize = sizeof(Appender),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_new = appender_new,
    .tp_dealloc = (destructor)appender_dealloc,
    .tp_traverse = (traverseproc)appender_traverse,
    .tp_clear = (inquiry)appender_clear,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(Appender, vectorcall),
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fast", "The recorder's hot path in C (see instrument.py and sites.py).", -1, NULL,
};

PyMODINIT_FUNC PyInit__fast(void) {
    if (PyType_Ready(&RLockType) < 0 || PyType_Ready(&HookType) < 0 || PyType_Ready(&LookupType) < 0 || PyType_Ready(&CursorsType) < 0
            || PyType_Ready(&AppenderType) < 0)
        return NULL;
    str_signalled = PyUnicode_InternFromString("signalled");
    str_site = PyUnicode_InternFromString("site");
    str_deliver = PyUnicode_InternFromString("deliver");
    str_internal_error = PyUnicode_InternFromString("internal_error");
    str_f_trace = PyUnicode_InternFromString("f_trace");
    str_t0 = PyUnicode_InternFromString("_t0");
    str_append = PyUnicode_InternFromString("append");
    str_rows = PyUnicode_InternFromString("rows");
    for (long i = 0; i < 4; i++)
        small[i] = PyLong_FromLong(i);
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "RLock", (PyObject *)&RLockType) < 0 ||
        PyModule_AddObjectRef(m, "Hook", (PyObject *)&HookType) < 0 ||
        PyModule_AddObjectRef(m, "Lookup", (PyObject *)&LookupType) < 0 ||
        PyModule_AddObjectRef(m, "Cursors", (PyObject *)&CursorsType) < 0 ||
        PyModule_AddObjectRef(m, "Appender", (PyObject *)&AppenderType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
