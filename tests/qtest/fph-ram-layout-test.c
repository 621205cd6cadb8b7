/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qtests: which guest RAM fph can hint, for every RAM layout libvirt
 * generates.  query-fph-stats reports ram-bytes, hintable-bytes and the
 * unhintable rest by region and reason; the core accepts hints for exactly
 * the hintable part (the same map, module/fph-ram-map.c).
 *
 * Layouts: plain -m; -numa node,memdev= with 2 and 3 uneven nodes;
 * -machine memory-backend= (ram, memfd share=on); a shared file backend
 * with x-ignore-shared (not migrated: reported, never silent); pc-dimm
 * hot-added at run time; memfd hugetlb=on where the host has huge pages.
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "qemu/cutils.h"
#include "libqtest.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include <glib/gstdio.h>

#define MACHINE "-M pc -nodefaults -L /usr/share/seabios -L /usr/share/qemu " \
                "-object free-page-hint,id=fph0 "

/* Below 1 MiB the PC maps VGA (MMIO) and BIOS shadows, not all RAM. */
#define LOW_SLACK (1 * MiB)

typedef struct Layout {
    uint64_t ram, hintable;
    uint64_t read_only, not_migrated;
    GHashTable *by_region;      /* region -> bytes not migrated */
} Layout;

static void layout_free(Layout *l)
{
    g_hash_table_unref(l->by_region);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Layout, layout_free)

static void query_layout(QTestState *qts, Layout *l)
{
    g_autoptr(QDict) resp = qtest_qmp(qts, "{'execute': 'query-fph-stats'}");
    QDict *ret = qdict_get_qdict(resp, "return");
    QListEntry *e;

    g_assert_nonnull(ret);
    l->ram = qdict_get_int(ret, "ram-bytes");
    l->hintable = qdict_get_int(ret, "hintable-bytes");
    l->read_only = l->not_migrated = 0;
    if (l->by_region) {
        g_hash_table_unref(l->by_region);
    }
    l->by_region = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                         NULL);
    QLIST_FOREACH_ENTRY(qdict_get_qlist(ret, "unhintable"), e) {
        QDict *u = qobject_to(QDict, qlist_entry_obj(e));
        const char *why = qdict_get_str(u, "reason");
        uint64_t bytes = qdict_get_int(u, "bytes");

        g_test_message("unhintable: %s %" PRIu64 " bytes (%s)",
                       qdict_get_str(u, "region"), bytes, why);
        if (!strcmp(why, "read-only")) {
            l->read_only += bytes;
        } else {
            /* One entry per region and reason. */
            g_assert_cmpstr(why, ==, "not-migrated");
            l->not_migrated += bytes;
            g_assert_true(g_hash_table_insert(
                l->by_region, g_strdup(qdict_get_str(u, "region")),
                GSIZE_TO_POINTER(bytes)));
        }
    }
    g_test_message("ram %" PRIu64 " MiB, hintable %" PRIu64 " KiB, "
                   "read-only %" PRIu64 " KiB, not migrated %" PRIu64 " KiB",
                   l->ram / MiB, l->hintable / KiB, l->read_only / KiB,
                   l->not_migrated / KiB);
    /* Every byte of guest RAM is accounted for, once. */
    g_assert_cmpuint(l->hintable + l->read_only + l->not_migrated, ==,
                     l->ram);
}

/* All of @size of guest RAM is there and hintable, but for the low MiB. */
static void assert_all_hintable(const Layout *l, uint64_t size)
{
    g_assert_cmpuint(l->ram, <=, size);
    g_assert_cmpuint(l->ram, >=, size - LOW_SLACK);
    g_assert_cmpuint(l->hintable, >=, size - LOW_SLACK);
    g_assert_cmpuint(l->not_migrated, ==, 0);
    g_assert_cmpuint(l->read_only, <, LOW_SLACK);
}

static void check_all_hintable(const char *args, uint64_t size)
{
    QTestState *qts = qtest_initf(MACHINE "%s", args);
    g_auto(Layout) l = {};

    query_layout(qts, &l);
    assert_all_hintable(&l, size);
    qtest_quit(qts);
}

static void test_plain(void)
{
    check_all_hintable("-m 512M", 512 * MiB);
}

static void test_numa_two_uneven(void)
{
    check_all_hintable("-m 384M "
                       "-object memory-backend-ram,id=m0,size=256M "
                       "-object memory-backend-ram,id=m1,size=128M "
                       "-numa node,memdev=m0 -numa node,memdev=m1",
                       384 * MiB);
}

static void test_numa_three_uneven(void)
{
    check_all_hintable("-m 384M "
                       "-object memory-backend-ram,id=m0,size=128M "
                       "-object memory-backend-ram,id=m1,size=64M "
                       "-object memory-backend-ram,id=m2,size=192M "
                       "-numa node,memdev=m0 -numa node,memdev=m1 "
                       "-numa node,memdev=m2",
                       384 * MiB);
}

static void test_machine_backend_ram(void)
{
    check_all_hintable("-m 256M -object memory-backend-ram,id=mem,size=256M "
                       "-machine memory-backend=mem", 256 * MiB);
}

static void test_machine_backend_memfd_shared(void)
{
    check_all_hintable("-m 256M "
                       "-object memory-backend-memfd,id=mem,size=256M,share=on "
                       "-machine memory-backend=mem", 256 * MiB);
}

/*
 * x-ignore-shared: a shared, named file backend is not migrated at all
 * (the destination maps the same file).  Node 1 is such a backend: its
 * 128 MiB are reported not-migrated, node 0 stays hintable.
 */
static void test_ignore_shared(void)
{
    g_autofree char *path = g_strdup_printf("/dev/shm/fph-qtest-%d", getpid());
    QTestState *qts = qtest_initf(MACHINE "-m 384M "
                                  "-object memory-backend-ram,id=m0,size=256M "
                                  "-object memory-backend-file,id=m1,"
                                  "size=128M,share=on,mem-path=%s "
                                  "-numa node,memdev=m0 -numa node,memdev=m1",
                                  path);
    g_auto(Layout) l = {};

    query_layout(qts, &l);
    assert_all_hintable(&l, 384 * MiB);

    qtest_qmp_assert_success(qts, "{'execute': 'migrate-set-capabilities',"
                             " 'arguments': {'capabilities': [{'capability':"
                             " 'x-ignore-shared', 'state': true}]}}");
    query_layout(qts, &l);
    g_assert_cmpuint(l.not_migrated, ==, 128 * MiB);
    g_assert_cmpuint(GPOINTER_TO_SIZE(g_hash_table_lookup(l.by_region, "m1")),
                     ==, 128 * MiB);
    g_assert_cmpuint(l.hintable, >=, 256 * MiB - LOW_SLACK);
    g_assert_cmpuint(l.hintable, <=, 256 * MiB);
    qtest_quit(qts);
    g_unlink(path);
}

/* A pc-dimm added at run time is guest RAM from then on. */
static void test_pc_dimm_hotplug(void)
{
    QTestState *qts = qtest_init(MACHINE "-m 256M,slots=2,maxmem=1G");
    g_auto(Layout) l = {};
    uint64_t before;

    query_layout(qts, &l);
    assert_all_hintable(&l, 256 * MiB);
    before = l.hintable;

    qtest_qmp_assert_success(qts, "{'execute': 'object-add', 'arguments':"
                             " {'qom-type': 'memory-backend-ram',"
                             " 'id': 'dimm0mem', 'size': 134217728}}");
    qtest_qmp_assert_success(qts, "{'execute': 'device_add', 'arguments':"
                             " {'driver': 'pc-dimm', 'id': 'dimm0',"
                             " 'memdev': 'dimm0mem'}}");

    query_layout(qts, &l);
    g_assert_cmpuint(l.hintable, ==, before + 128 * MiB);
    g_assert_cmpuint(l.not_migrated, ==, 0);
    qtest_quit(qts);
}

/* Huge pages the host has free, from /proc/meminfo. */
static uint64_t free_hugepages_bytes(void)
{
    g_autofree char *info = NULL;
    unsigned long free_pages = 0, size_kib = 0;
    const char *p, *end;

    if (!g_file_get_contents("/proc/meminfo", &info, NULL, NULL)) {
        return 0;
    }
    p = strstr(info, "HugePages_Free:");
    if (!p || qemu_strtoul(p + strlen("HugePages_Free:"), &end, 10,
                           &free_pages) < 0) {
        return 0;
    }
    p = strstr(info, "Hugepagesize:");
    if (!p || qemu_strtoul(p + strlen("Hugepagesize:"), &end, 10,
                           &size_kib) < 0) {
        return 0;
    }
    return (uint64_t)free_pages * size_kib * KiB;
}

static void test_memfd_hugetlb(void)
{
    uint64_t avail = free_hugepages_bytes();

    if (avail < 256 * MiB) {
        g_test_skip("the host has no 256 MiB of free huge pages "
                    "(HugePages_Free in /proc/meminfo; "
                    "echo 128 > /proc/sys/vm/nr_hugepages)");
        return;
    }
    check_all_hintable("-m 256M "
                       "-object memory-backend-memfd,id=mem,size=256M,"
                       "hugetlb=on,share=on -machine memory-backend=mem",
                       256 * MiB);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/fph/ram-layout/plain", test_plain);
    qtest_add_func("/fph/ram-layout/numa-2-uneven", test_numa_two_uneven);
    qtest_add_func("/fph/ram-layout/numa-3-uneven", test_numa_three_uneven);
    qtest_add_func("/fph/ram-layout/memory-backend-ram",
                   test_machine_backend_ram);
    qtest_add_func("/fph/ram-layout/memory-backend-memfd-shared",
                   test_machine_backend_memfd_shared);
    qtest_add_func("/fph/ram-layout/x-ignore-shared", test_ignore_shared);
    qtest_add_func("/fph/ram-layout/pc-dimm-hotplug", test_pc_dimm_hotplug);
    qtest_add_func("/fph/ram-layout/memfd-hugetlb", test_memfd_hugetlb);
    return g_test_run();
}
