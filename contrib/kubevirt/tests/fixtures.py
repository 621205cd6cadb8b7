# SPDX-License-Identifier: GPL-2.0-or-later
"""Fixtures of KubeVirt's side: the VMI that virt-launcher passes to
onDefineDomain as --vmi (JSON), and the domain XML files beside this file
(what virt-launcher generates, as --domain)."""

from __future__ import annotations

import copy
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
SIDECAR = os.path.join(os.path.dirname(HERE), "fph-sidecar")
DOMAINS = sorted(f for f in os.listdir(HERE) if f.endswith(".xml"))

# A VMI with dedicated CPUs, guest NUMA passthrough and 2 MiB hugepages,
# the sidecar requested through a ConfigMap, and fph asked for.
VMI = \
    {'apiVersion': 'kubevirt.io/v1',
     'kind': 'VirtualMachineInstance',
     'metadata': {'name': 'vmi-fedora',
                  'namespace': 'default',
                  'annotations': {'hooks.kubevirt.io/hookSidecars': '[{"args": '
                                                                    '["--version", '
                                                                    '"v1alpha2"], '
                                                                    '"configMap": '
                                                                    '{"name": '
                                                                    '"fph-sidecar", '
                                                                    '"key": '
                                                                    '"onDefineDomain", '
                                                                    '"hookPath": '
                                                                    '"/usr/bin/onDefineDomain"}}]',
                                  'fph.kubevirt.io/free-page-hint': 'true'},
                  'uid': '7b4a2a0c-1d62-4d5e-9c9c-2f5bbd6f6b5e'},
     'spec': {'domain': {'cpu': {'cores': 2,
                                 'dedicatedCpuPlacement': True,
                                 'numa': {'guestMappingPassthrough': {}}},
                         'memory': {'guest': '2Gi',
                                    'hugepages': {'pageSize': '2Mi'}},
                         'machine': {'type': 'q35'},
                         'devices': {'disks': [{'name': 'containerdisk',
                                                'disk': {'bus': 'virtio'}}],
                                     'interfaces': [{'name': 'default',
                                                     'masquerade': {}}]},
                         'resources': {'requests': {'memory': '2Gi'}}},
              'networks': [{'name': 'default', 'pod': {}}],
              'volumes': [{'name': 'containerdisk',
                           'containerDisk': {'image': 'quay.io/containerdisks/fedora:40'}}]},
     'status': {'migrationTransport': 'Unix'}}


def vmi(annotation: str | None = "true") -> str:
    """VMI as JSON, fph.kubevirt.io/free-page-hint set to @annotation
    (None: absent)."""
    v = copy.deepcopy(VMI)
    ann = v["metadata"]["annotations"]
    if annotation is None:
        del ann["fph.kubevirt.io/free-page-hint"]
    else:
        ann["fph.kubevirt.io/free-page-hint"] = annotation
    return json.dumps(v)


def domain(name: str) -> str:
    with open(os.path.join(HERE, name)) as f:
        return f.read()
