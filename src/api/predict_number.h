#ifndef KRONOS_PREDICT_NUMBER_H
#define KRONOS_PREDICT_NUMBER_H

/* Number text for responses: the shortest decimal that reads back as the same value, laid out
 * as Python prints floats (100.0, 0.001, 1e-05, 3.4028235e+38). */

/* Writes the shortest decimal text that strtof reads back as f (always with '.' or 'e';
 * f must be finite). Returns the length. buf needs 32 bytes. */
int predict_format_float(char *buf, float f);

/* Same for a double (17 significant digits at most); used for quantile keys ("0.1"). */
int predict_format_double(char *buf, double d);

#endif
