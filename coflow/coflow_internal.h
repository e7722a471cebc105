/*
 * coflow_internal.h - what the files of coflow/ share and no one else needs:
 * the policy objects the registry lists.
 */
#ifndef COFLOW_INTERNAL_H
#define COFLOW_INTERNAL_H

#include "coflow.h"

#endif
