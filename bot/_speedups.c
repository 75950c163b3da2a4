/* Optional C accelerator for the rules engine's word-level loops (bot/engines/rules.py).
 *
 * scan()          does what RulesEngine._scan_python does, in one pass and without the intermediate
 *                 lists: split the separator-mapped scan text on spaces, blank connector runs at word
 *                 edges, look each word up in the engine's table, try the cues that can start there,
 *                 and sort the hits into the entries' buckets, summing their weights;
 * sentence_ends() does what _sentence_ends_python does;
 * pick_spans()    does what _pick_spans_python does (the evidence: heaviest non-overlapping hits).
 *
 * The tables, the vocabulary and every decision about scoring stay in Python; this file knows only
 * how to walk words and spans. tests/test_speedups.py checks that both give identical results, in
 * the same order, on the corpus, hostile drafts and generated text.
 *
 * If the extension cannot be built (no compiler), the install still succeeds (setup.py marks it
 * optional) and the engine uses the pure-Python functions.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct {
    PyObject *word;   /* owned */
    PyObject *group;  /* owned; NULL when no cue is tried at this word */
    Py_ssize_t start, end;
} Tok;

/* Connector characters: kept inside words ("we'll", "$12", "e-mail"), blanked at their edges. */
static inline int
is_connector(Py_UCS4 c)
{
    return c == '-' || c == '.' || c == ',' || c == '\'' || c == '+' || c == '&' || c == '$' ||
           c == 0x20AC /* euro */ || c == 0xA3 /* pound */;
}

static inline int
is_currency(Py_UCS4 c)
{
    return c == '$' || c == 0x20AC || c == 0xA3;
}

static inline int
str_eq(PyObject *a, PyObject *b)
{
    if (a == b)
        return 1;
    if (PyUnicode_GET_LENGTH(a) != PyUnicode_GET_LENGTH(b))
        return 0;
    return PyUnicode_Compare(a, b) == 0;
}

/* 1 if word matches pattern ("word", "prefix*" or "<class>"), 0 if not, -1 on error. */
static int
word_matches(PyObject *pattern, PyObject *token, PyObject *classes_of)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(pattern);
    if (n > 0 && PyUnicode_READ_CHAR(pattern, n - 1) == '*') {
        Py_ssize_t m = n - 1;
        if (PyUnicode_GET_LENGTH(token) < m)
            return 0;
        int pk = PyUnicode_KIND(pattern), tk = PyUnicode_KIND(token);
        const void *pd = PyUnicode_DATA(pattern), *td = PyUnicode_DATA(token);
        for (Py_ssize_t i = 0; i < m; i++) {
            if (PyUnicode_READ(pk, pd, i) != PyUnicode_READ(tk, td, i))
                return 0;
        }
        return 1;
    }
    if (n > 1 && PyUnicode_READ_CHAR(pattern, 0) == '<' && PyUnicode_READ_CHAR(pattern, n - 1) == '>') {
        PyObject *classes = PyObject_CallOneArg(classes_of, token);
        if (classes == NULL)
            return -1;
        int found = PySequence_Contains(classes, pattern);
        Py_DECREF(classes);
        return found;
    }
    return str_eq(pattern, token);
}

/* Match words[first:] against the tokens after j: the index of the last token matched, 0 when
 * one differs (0 is never a real answer: the walk starts after j >= 0), -1 on error. */
static Py_ssize_t
walk(PyObject *words, Py_ssize_t first, const Tok *toks, Py_ssize_t ntok, Py_ssize_t j, PyObject *classes_of)
{
    Py_ssize_t jk = j, n = PyTuple_GET_SIZE(words);
    for (Py_ssize_t i = first; i < n; i++) {
        jk++;
        if (jk >= ntok)
            return 0;
        int ok = word_matches(PyTuple_GET_ITEM(words, i), toks[jk].word, classes_of);
        if (ok <= 0)
            return ok;
    }
    return jk;
}

/* An entry is the engine's _Entry named tuple: (words, kind, motive, weight, phrase, shows, bucket). */
#define WORDS(entry) PyTuple_GET_ITEM((entry), 0)
#define WEIGHT(entry) PyFloat_AS_DOUBLE(PyTuple_GET_ITEM((entry), 3))
#define BUCKET(entry) PyLong_AsLong(PyTuple_GET_ITEM((entry), 6))
#define ENTRY_SIZE 7
#define N_BUCKETS 4

/* Hits are sorted into the entry's bucket as they are found, and their weights summed there. */
typedef struct {
    PyObject *lists[N_BUCKETS];
    double totals[N_BUCKETS];
} Found;

static int
add_hit(Found *found, Py_ssize_t start, Py_ssize_t end, PyObject *entry)
{
    long b = BUCKET(entry);
    PyObject *hit = PyTuple_New(3);
    if (hit == NULL)
        return -1;
    PyObject *s = PyLong_FromSsize_t(start), *e = PyLong_FromSsize_t(end);
    if (s == NULL || e == NULL) {
        Py_XDECREF(s);
        Py_XDECREF(e);
        Py_DECREF(hit);
        return -1;
    }
    Py_INCREF(entry);
    PyTuple_SET_ITEM(hit, 0, s);
    PyTuple_SET_ITEM(hit, 1, e);
    PyTuple_SET_ITEM(hit, 2, entry);
    int rc = PyList_Append(found->lists[b], hit);
    Py_DECREF(hit);
    found->totals[b] += WEIGHT(entry);
    return rc;
}

static int
check_entry(PyObject *entry)
{
    if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != ENTRY_SIZE || !PyTuple_Check(WORDS(entry)) ||
        PyTuple_GET_SIZE(WORDS(entry)) < 1 || !PyFloat_Check(PyTuple_GET_ITEM(entry, 3)) ||
        !PyLong_Check(PyTuple_GET_ITEM(entry, 6))) {
        PyErr_SetString(PyExc_TypeError, "cue entries must be _Entry tuples: (words, kind, motive, weight: float, "
                                         "phrase, shows, bucket: int)");
        return -1;
    }
    long b = BUCKET(entry);
    if (b < 0 || b >= N_BUCKETS) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "a cue entry's bucket must be 0-3");
        return -1;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(WORDS(entry));
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyUnicode_Check(PyTuple_GET_ITEM(WORDS(entry), i))) {
            PyErr_SetString(PyExc_TypeError, "cue words must be str");
            return -1;
        }
    }
    return 0;
}

/* A group is (singles, by_second, wild, back): tuples of entries and a dict str -> tuple of entries.
 * Groups come from the engine's own tables; they are checked once when first seen in a scan. */
static int
check_group(PyObject *g)
{
    if (!PyTuple_Check(g) || PyTuple_GET_SIZE(g) != 4 || !PyTuple_Check(PyTuple_GET_ITEM(g, 0)) ||
        !PyDict_Check(PyTuple_GET_ITEM(g, 1)) || !PyTuple_Check(PyTuple_GET_ITEM(g, 2)) ||
        !PyTuple_Check(PyTuple_GET_ITEM(g, 3))) {
        PyErr_SetString(PyExc_TypeError, "a cue group must be (tuple, dict, tuple, tuple)");
        return -1;
    }
    for (int k = 0; k < 4; k++) {
        if (k == 1) {
            PyObject *key, *value;
            Py_ssize_t pos = 0;
            while (PyDict_Next(PyTuple_GET_ITEM(g, 1), &pos, &key, &value)) {
                if (!PyUnicode_Check(key) || !PyTuple_Check(value)) {
                    PyErr_SetString(PyExc_TypeError, "by_second must map str to a tuple of entries");
                    return -1;
                }
                for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(value); i++) {
                    if (check_entry(PyTuple_GET_ITEM(value, i)) < 0)
                        return -1;
                }
            }
            continue;
        }
        PyObject *t = PyTuple_GET_ITEM(g, k);
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(t); i++) {
            if (check_entry(PyTuple_GET_ITEM(t, i)) < 0)
                return -1;
        }
    }
    return 0;
}

static int
match_at(Found *found, const Tok *toks, Py_ssize_t ntok, Py_ssize_t j, PyObject *classes_of)
{
    PyObject *g = toks[j].group;
    PyObject *singles = PyTuple_GET_ITEM(g, 0), *by_second = PyTuple_GET_ITEM(g, 1);
    PyObject *wild = PyTuple_GET_ITEM(g, 2), *back = PyTuple_GET_ITEM(g, 3);

    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(singles); i++) {
        if (add_hit(found, toks[j].start, toks[j].end, PyTuple_GET_ITEM(singles, i)) < 0)
            return -1;
    }
    /* Cues opening with a common word ("the board") are found at their second word. */
    if (j > 0) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(back); i++) {
            PyObject *entry = PyTuple_GET_ITEM(back, i);
            if (!str_eq(PyTuple_GET_ITEM(WORDS(entry), 0), toks[j - 1].word))
                continue;
            Py_ssize_t jk = walk(WORDS(entry), 2, toks, ntok, j, classes_of);
            if (jk < 0)
                return -1;
            if (jk && add_hit(found, toks[j - 1].start, toks[jk].end, entry) < 0)
                return -1;
        }
    }
    if ((PyDict_GET_SIZE(by_second) == 0 && PyTuple_GET_SIZE(wild) == 0) || j + 1 >= ntok)
        return 0;
    PyObject *next = toks[j + 1].word;
    PyObject *exact = PyDict_GetItemWithError(by_second, next); /* borrowed; the group owns it */
    if (exact == NULL && PyErr_Occurred())
        return -1;
    PyObject *lists[2] = {exact, wild};
    for (int l = 0; l < 2; l++) {
        PyObject *cands = lists[l];
        if (cands == NULL)
            continue;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(cands); i++) {
            PyObject *entry = PyTuple_GET_ITEM(cands, i), *words = WORDS(entry);
            if (PyTuple_GET_SIZE(words) == 2 && str_eq(PyTuple_GET_ITEM(words, 1), next)) {
                if (add_hit(found, toks[j].start, toks[j + 1].end, entry) < 0)
                    return -1;
                continue;
            }
            Py_ssize_t jk = walk(words, 1, toks, ntok, j, classes_of);
            if (jk < 0)
                return -1;
            if (jk && add_hit(found, toks[j].start, toks[jk].end, entry) < 0)
                return -1;
        }
    }
    return 0;
}

PyDoc_STRVAR(scan_doc,
"scan(text, known, miss, classes_of) -> (hits by bucket, weight by bucket, n_words, n_common)\n\n"
"text: the scan text with separators mapped to spaces. known: dict word -> (cue group or None,\n"
"is common). miss(word): that pair for a word not in known. classes_of(word): tuple of the\n"
"token classes a word belongs to.");

static PyObject *
scan(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "scan() takes 4 arguments");
        return NULL;
    }
    PyObject *text = args[0], *known = args[1], *miss = args[2], *classes_of = args[3];
    if (!PyUnicode_Check(text) || !PyDict_Check(known) || !PyCallable_Check(miss) || !PyCallable_Check(classes_of)) {
        PyErr_SetString(PyExc_TypeError, "scan(str, dict, callable, callable)");
        return NULL;
    }
    Py_ssize_t len = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);

    Tok *toks = NULL;
    Py_ssize_t ntok = 0, cap = 0, n_common = 0;
    PyObject *result = NULL;
    Found found = {{NULL}, {0.0}};

    Py_ssize_t i = 0;
    while (i < len) {
        while (i < len && PyUnicode_READ(kind, data, i) == ' ')
            i++;
        if (i >= len)
            break;
        Py_ssize_t s = i;
        while (i < len && PyUnicode_READ(kind, data, i) != ' ')
            i++;
        Py_ssize_t e = i;
        /* A connector run opening a word is blanked unless it starts with a currency sign ("$12");
         * one closing a word always is ("customers'", "done."). */
        Py_ssize_t r = s;
        while (r < e && is_connector(PyUnicode_READ(kind, data, r)))
            r++;
        if (r > s && (r == e || !is_currency(PyUnicode_READ(kind, data, s))))
            s = r;
        while (e > s && is_connector(PyUnicode_READ(kind, data, e - 1)))
            e--;
        if (s >= e)
            continue;

        if (ntok == cap) {
            Py_ssize_t ncap = cap ? cap * 2 : 256;
            Tok *grown = PyMem_Realloc(toks, (size_t)ncap * sizeof(Tok));
            if (grown == NULL) {
                PyErr_NoMemory();
                goto done;
            }
            toks = grown;
            cap = ncap;
        }
        PyObject *word = PyUnicode_Substring(text, s, e);
        if (word == NULL)
            goto done;
        Tok *t = &toks[ntok++];
        t->word = word;
        t->group = NULL;
        t->start = s;
        t->end = e;

        /* One lookup tells both whether a cue is tried here and whether the word is common. */
        PyObject *info = PyDict_GetItemWithError(known, word); /* borrowed */
        if (info != NULL) {
            Py_INCREF(info);
        }
        else {
            if (PyErr_Occurred())
                goto done;
            info = PyObject_CallOneArg(miss, word);
            if (info == NULL)
                goto done;
            if (!PyTuple_Check(info) || PyTuple_GET_SIZE(info) != 2 || !PyBool_Check(PyTuple_GET_ITEM(info, 1)) ||
                (PyTuple_GET_ITEM(info, 0) != Py_None && check_group(PyTuple_GET_ITEM(info, 0)) < 0)) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_TypeError, "miss() must return (cue group or None, bool)");
                Py_DECREF(info);
                goto done;
            }
        }
        n_common += PyTuple_GET_ITEM(info, 1) == Py_True;
        PyObject *g = PyTuple_GET_ITEM(info, 0);
        if (g != Py_None) {
            Py_INCREF(g);
            t->group = g;
        }
        Py_DECREF(info);
    }

    for (int b = 0; b < N_BUCKETS; b++) {
        if ((found.lists[b] = PyList_New(0)) == NULL)
            goto done;
    }
    for (Py_ssize_t j = 0; j < ntok; j++) {
        if (toks[j].group != NULL && match_at(&found, toks, ntok, j, classes_of) < 0)
            goto done;
    }
    result = Py_BuildValue("((OOOO)(dddd)nn)", found.lists[0], found.lists[1], found.lists[2], found.lists[3],
                           found.totals[0], found.totals[1], found.totals[2], found.totals[3], ntok, n_common);

done:
    for (int b = 0; b < N_BUCKETS; b++)
        Py_XDECREF(found.lists[b]);
    for (Py_ssize_t k = 0; k < ntok; k++) {
        Py_DECREF(toks[k].word);
        Py_XDECREF(toks[k].group);
    }
    PyMem_Free(toks);
    return result;
}

PyDoc_STRVAR(sentence_ends_doc,
"sentence_ends(text) -> list of offsets just past each sentence end: . ! or ? followed by\n"
"whitespace or the end of the text, or a line break.");

static PyObject *
sentence_ends(PyObject *module, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "sentence_ends(str)");
        return NULL;
    }
    Py_ssize_t len = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    PyObject *ends = PyList_New(0);
    if (ends == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < len; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c == '\n' || ((c == '.' || c == '!' || c == '?') &&
                          (i + 1 == len || Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i + 1))))) {
            PyObject *end = PyLong_FromSsize_t(i + 1);
            if (end == NULL || PyList_Append(ends, end) < 0) {
                Py_XDECREF(end);
                Py_DECREF(ends);
                return NULL;
            }
            Py_DECREF(end);
        }
    }
    return ends;
}

typedef struct {
    double weight;
    Py_ssize_t start, end, order;
    PyObject *shows; /* borrowed from the entry */
} Span;

static int
span_cmp(const void *a, const void *b)
{
    const Span *x = a, *y = b;
    if (x->weight != y->weight)
        return x->weight > y->weight ? -1 : 1; /* heaviest first */
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->order < y->order ? -1 : (x->order > y->order);
}

static int
start_cmp(const void *a, const void *b)
{
    const Span *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return PyUnicode_Compare(x->shows, y->shows); /* both str (checked); only empty spans get here */
}

PyDoc_STRVAR(pick_spans_doc,
"pick_spans(hits, limit) -> list of (start, end, shows)\n\n"
"The heaviest hits that do not overlap a heavier (or, on ties, earlier) one, at most limit,\n"
"in text order. hits: (start, end, entry) tuples as scan() returns them.");

static PyObject *
pick_spans(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyList_Check(args[0]) || !PyLong_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "pick_spans(list, int)");
        return NULL;
    }
    PyObject *hits = args[0];
    Py_ssize_t limit = PyLong_AsSsize_t(args[1]);
    if (limit < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "limit must be >= 0");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(hits), nchosen = 0;
    Span *spans = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(Span));
    if (spans == NULL)
        return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *hit = PyList_GET_ITEM(hits, i);
        if (!PyTuple_Check(hit) || PyTuple_GET_SIZE(hit) != 3 || !PyLong_Check(PyTuple_GET_ITEM(hit, 0)) ||
            !PyLong_Check(PyTuple_GET_ITEM(hit, 1)) || check_entry(PyTuple_GET_ITEM(hit, 2)) < 0 ||
            !PyUnicode_Check(PyTuple_GET_ITEM(PyTuple_GET_ITEM(hit, 2), 5))) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "hits must be (start, end, entry) tuples");
            PyMem_Free(spans);
            return NULL;
        }
        PyObject *entry = PyTuple_GET_ITEM(hit, 2);
        spans[i].weight = WEIGHT(entry);
        spans[i].start = PyLong_AsSsize_t(PyTuple_GET_ITEM(hit, 0));
        spans[i].end = PyLong_AsSsize_t(PyTuple_GET_ITEM(hit, 1));
        spans[i].order = i;
        spans[i].shows = PyTuple_GET_ITEM(entry, 5);
    }
    if (PyErr_Occurred()) {
        PyMem_Free(spans);
        return NULL;
    }
    qsort(spans, (size_t)n, sizeof(Span), span_cmp);
    /* Greedy: keep a span unless it overlaps one already kept. At most `limit` are kept, so a
     * linear check against them is cheaper than any index. Kept spans are moved to the front. */
    for (Py_ssize_t i = 0; i < n && nchosen < limit; i++) {
        int overlaps = 0;
        for (Py_ssize_t k = 0; k < nchosen; k++) {
            /* Half-open ranges; an empty span neither blocks nor is blocked (as in Python). */
            if (spans[i].start < spans[k].end && spans[k].start < spans[i].end && spans[i].start < spans[i].end &&
                spans[k].start < spans[k].end) {
                overlaps = 1;
                break;
            }
        }
        if (!overlaps)
            spans[nchosen++] = spans[i];
    }
    qsort(spans, (size_t)nchosen, sizeof(Span), start_cmp);
    PyObject *out = PyList_New(nchosen);
    if (out != NULL) {
        for (Py_ssize_t k = 0; k < nchosen; k++) {
            PyObject *item = Py_BuildValue("(nnO)", spans[k].start, spans[k].end, spans[k].shows);
            if (item == NULL) {
                Py_CLEAR(out);
                break;
            }
            PyList_SET_ITEM(out, k, item);
        }
    }
    PyMem_Free(spans);
    return out;
}

static PyMethodDef methods[] = {
    {"pick_spans", (PyCFunction)(void (*)(void))pick_spans, METH_FASTCALL, pick_spans_doc},
    {"scan", (PyCFunction)(void (*)(void))scan, METH_FASTCALL, scan_doc},
    {"sentence_ends", sentence_ends, METH_O, sentence_ends_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "bot._speedups", "C accelerator for the rules engine's cue scan.", -1, methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModule_Create(&module);
}
