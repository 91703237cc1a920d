#ifndef ANOMALYD_CSQLITE_SHIM_H
#define ANOMALYD_CSQLITE_SHIM_H
#include <sqlite3.h>
#endif
