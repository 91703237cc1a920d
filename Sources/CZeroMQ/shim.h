#ifndef ANOMALYD_CZEROMQ_SHIM_H
#define ANOMALYD_CZEROMQ_SHIM_H
#include <zmq.h>
#endif
