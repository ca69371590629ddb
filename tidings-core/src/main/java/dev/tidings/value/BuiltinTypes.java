package dev.tidings.value;

import java.util.List;

/**
 * The types of {@code pg_catalog} whose OIDs are fixed at PostgreSQL build time ({@code pg_type.dat}),
 * so a value of one of them can be converted without asking the database.
 *
 * <p>The table below was generated from a PostgreSQL 16 {@code pg_type} (base, pseudo, range and
 * multirange types and their arrays; not the system catalogs' row types, which the registry looks
 * up like any composite). OIDs below 16384 never change between servers; a type missing from an
 * older server is simply never sent by it. {@code PgTypeRegistryTest} checks every row against a
 * live server. Columns: oid, typname, kind (B base, A array, R range, M multirange, P pseudo),
 * typcategory, element (array element, range subtype or multirange's range), typdelim.
 */
final class BuiltinTypes {
    /** One past the highest OID in the table; lookups index an array of this size. */
    static final int LIMIT = 8192;

    private static final PgType[] BY_OID = new PgType[LIMIT];

    private BuiltinTypes() {}

    /** The built-in type with this OID, or null. */
    static PgType lookup(int oid) {
        return oid >= 0 && oid < LIMIT ? BY_OID[oid] : null;
    }

    static List<PgType> all() {
        return java.util.Arrays.stream(BY_OID).filter(java.util.Objects::nonNull).toList();
    }

    static {
        for (String line : BuiltinTypes.TABLE.strip().split("\n")) {
            String[] c = line.strip().split(" ");
            int oid = Integer.parseInt(c[0]);
            PgType.Kind kind = switch (c[2]) {
                case "B" -> PgType.Kind.BASE;
                case "A" -> PgType.Kind.ARRAY;
                case "R" -> PgType.Kind.RANGE;
                case "M" -> PgType.Kind.MULTIRANGE;
                case "P" -> PgType.Kind.PSEUDO;
                default -> throw new AssertionError(line);
            };
            BY_OID[oid] = new PgType(oid, "pg_catalog", c[1], kind, c[3].charAt(0), Integer.parseInt(c[4]),
                    c[5].charAt(0), List.of());
        }
    }

    private static final String TABLE = """
            16 bool B B 0 ,
            17 bytea B U 0 ,
            18 char B Z 0 ,
            19 name B S 0 ,
            20 int8 B N 0 ,
            21 int2 B N 0 ,
            22 int2vector A A 21 ,
            23 int4 B N 0 ,
            24 regproc B N 0 ,
            25 text B S 0 ,
            26 oid B N 0 ,
            27 tid B U 0 ,
            28 xid B U 0 ,
            29 cid B U 0 ,
            30 oidvector A A 26 ,
            32 pg_ddl_command P P 0 ,
            114 json B U 0 ,
            142 xml B U 0 ,
            143 _xml A A 142 ,
            194 pg_node_tree B Z 0 ,
            199 _json A A 114 ,
            269 table_am_handler P P 0 ,
            271 _xid8 A A 5069 ,
            325 index_am_handler P P 0 ,
            600 point B G 0 ,
            601 lseg B G 0 ,
            602 path B G 0 ,
            603 box B G 0 ;
            604 polygon B G 0 ,
            628 line B G 0 ,
            629 _line A A 628 ,
            650 cidr B I 0 ,
            651 _cidr A A 650 ,
            700 float4 B N 0 ,
            701 float8 B N 0 ,
            705 unknown P X 0 ,
            718 circle B G 0 ,
            719 _circle A A 718 ,
            774 macaddr8 B U 0 ,
            775 _macaddr8 A A 774 ,
            790 money B N 0 ,
            791 _money A A 790 ,
            829 macaddr B U 0 ,
            869 inet B I 0 ,
            1000 _bool A A 16 ,
            1001 _bytea A A 17 ,
            1002 _char A A 18 ,
            1003 _name A A 19 ,
            1005 _int2 A A 21 ,
            1006 _int2vector A A 22 ,
            1007 _int4 A A 23 ,
            1008 _regproc A A 24 ,
            1009 _text A A 25 ,
            1010 _tid A A 27 ,
            1011 _xid A A 28 ,
            1012 _cid A A 29 ,
            1013 _oidvector A A 30 ,
            1014 _bpchar A A 1042 ,
            1015 _varchar A A 1043 ,
            1016 _int8 A A 20 ,
            1017 _point A A 600 ,
            1018 _lseg A A 601 ,
            1019 _path A A 602 ,
            1020 _box A A 603 ;
            1021 _float4 A A 700 ,
            1022 _float8 A A 701 ,
            1027 _polygon A A 604 ,
            1028 _oid A A 26 ,
            1033 aclitem B U 0 ,
            1034 _aclitem A A 1033 ,
            1040 _macaddr A A 829 ,
            1041 _inet A A 869 ,
            1042 bpchar B S 0 ,
            1043 varchar B S 0 ,
            1082 date B D 0 ,
            1083 time B D 0 ,
            1114 timestamp B D 0 ,
            1115 _timestamp A A 1114 ,
            1182 _date A A 1082 ,
            1183 _time A A 1083 ,
            1184 timestamptz B D 0 ,
            1185 _timestamptz A A 1184 ,
            1186 interval B T 0 ,
            1187 _interval A A 1186 ,
            1231 _numeric A A 1700 ,
            1263 _cstring A A 2275 ,
            1266 timetz B D 0 ,
            1270 _timetz A A 1266 ,
            1560 bit B V 0 ,
            1561 _bit A A 1560 ,
            1562 varbit B V 0 ,
            1563 _varbit A A 1562 ,
            1700 numeric B N 0 ,
            1790 refcursor B U 0 ,
            2201 _refcursor A A 1790 ,
            2202 regprocedure B N 0 ,
            2203 regoper B N 0 ,
            2204 regoperator B N 0 ,
            2205 regclass B N 0 ,
            2206 regtype B N 0 ,
            2207 _regprocedure A A 2202 ,
            2208 _regoper A A 2203 ,
            2209 _regoperator A A 2204 ,
            2210 _regclass A A 2205 ,
            2211 _regtype A A 2206 ,
            2249 record P P 0 ,
            2275 cstring P P 0 ,
            2276 any P P 0 ,
            2277 anyarray P P 0 ,
            2278 void P P 0 ,
            2279 trigger P P 0 ,
            2280 language_handler P P 0 ,
            2281 internal P P 0 ,
            2283 anyelement P P 0 ,
            2287 _record A P 2249 ,
            2776 anynonarray P P 0 ,
            2949 _txid_snapshot A A 2970 ,
            2950 uuid B U 0 ,
            2951 _uuid A A 2950 ,
            2970 txid_snapshot B U 0 ,
            3115 fdw_handler P P 0 ,
            3220 pg_lsn B U 0 ,
            3221 _pg_lsn A A 3220 ,
            3310 tsm_handler P P 0 ,
            3361 pg_ndistinct B Z 0 ,
            3402 pg_dependencies B Z 0 ,
            3500 anyenum P P 0 ,
            3614 tsvector B U 0 ,
            3615 tsquery B U 0 ,
            3642 gtsvector B U 0 ,
            3643 _tsvector A A 3614 ,
            3644 _gtsvector A A 3642 ,
            3645 _tsquery A A 3615 ,
            3734 regconfig B N 0 ,
            3735 _regconfig A A 3734 ,
            3769 regdictionary B N 0 ,
            3770 _regdictionary A A 3769 ,
            3802 jsonb B U 0 ,
            3807 _jsonb A A 3802 ,
            3831 anyrange P P 0 ,
            3838 event_trigger P P 0 ,
            3904 int4range R R 23 ,
            3905 _int4range A A 3904 ,
            3906 numrange R R 1700 ,
            3907 _numrange A A 3906 ,
            3908 tsrange R R 1114 ,
            3909 _tsrange A A 3908 ,
            3910 tstzrange R R 1184 ,
            3911 _tstzrange A A 3910 ,
            3912 daterange R R 1082 ,
            3913 _daterange A A 3912 ,
            3926 int8range R R 20 ,
            3927 _int8range A A 3926 ,
            4072 jsonpath B U 0 ,
            4073 _jsonpath A A 4072 ,
            4089 regnamespace B N 0 ,
            4090 _regnamespace A A 4089 ,
            4096 regrole B N 0 ,
            4097 _regrole A A 4096 ,
            4191 regcollation B N 0 ,
            4192 _regcollation A A 4191 ,
            4451 int4multirange M R 3904 ,
            4532 nummultirange M R 3906 ,
            4533 tsmultirange M R 3908 ,
            4534 tstzmultirange M R 3910 ,
            4535 datemultirange M R 3912 ,
            4536 int8multirange M R 3926 ,
            4537 anymultirange P P 0 ,
            4538 anycompatiblemultirange P P 0 ,
            4600 pg_brin_bloom_summary B Z 0 ,
            4601 pg_brin_minmax_multi_summary B Z 0 ,
            5017 pg_mcv_list B Z 0 ,
            5038 pg_snapshot B U 0 ,
            5039 _pg_snapshot A A 5038 ,
            5069 xid8 B U 0 ,
            5077 anycompatible P P 0 ,
            5078 anycompatiblearray P P 0 ,
            5079 anycompatiblenonarray P P 0 ,
            5080 anycompatiblerange P P 0 ,
            6150 _int4multirange A A 4451 ,
            6151 _nummultirange A A 4532 ,
            6152 _tsmultirange A A 4533 ,
            6153 _tstzmultirange A A 4534 ,
            6155 _datemultirange A A 4535 ,
            6157 _int8multirange A A 4536 ,
            """;
}
