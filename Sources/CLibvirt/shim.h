#ifndef CARAVAN_CLIBVIRT_SHIM_H
#define CARAVAN_CLIBVIRT_SHIM_H
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#endif
