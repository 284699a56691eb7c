package ringsight.neo4j;

import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.gds.ProcedureAndFunctionScanner;
import org.neo4j.harness.Neo4j;
import org.neo4j.harness.Neo4jBuilder;
import org.neo4j.harness.Neo4jBuilders;
import org.neo4j.procedure.Procedure;
import org.neo4j.procedure.UserAggregationFunction;
import org.neo4j.procedure.UserFunction;

/**
 * Starts an in-process Neo4j 5.26 (neo4j-harness) with the open-source GDS procedures
 * registered and Bolt on 127.0.0.1, for ringsight's tests and local development.
 *
 * <pre>
 *   java [JVM flags] -cp target/classes:target/lib/* ringsight.neo4j.Launcher \
 *        [--port P] [--data DIR] [--pagecache-mb N] [--copy-from HOME]
 * </pre>
 *
 * Port defaults to $RINGSIGHT_NEO4J_PORT, then 7687. Without --data a temp directory is
 * used. The harness always creates a fresh, randomly named database folder inside the
 * data directory. Once GDS answers, one line is printed to stdout:
 * {@code RINGSIGHT_NEO4J_READY bolt://127.0.0.1:<port>}; the process then runs until
 * SIGTERM/SIGINT, when a shutdown hook closes the database.
 */
public final class Launcher {

    public static final String READY_PREFIX = "RINGSIGHT_NEO4J_READY ";

    private Launcher() {}

    public static void main(String[] args) throws Exception {
        int port = defaultPort();
        Path dataDir = null;
        long pageCacheMb = 64;
        Path copyFrom = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--port" -> port = Integer.parseInt(value(args, ++i, a));
                case "--data" -> dataDir = Path.of(value(args, ++i, a));
                case "--pagecache-mb" -> pageCacheMb = Long.parseLong(value(args, ++i, a));
                // A Neo4j home (data/databases/neo4j, data/transactions/neo4j) written by
                // `neo4j-admin database import full`: the server starts on a copy of it.
                case "--copy-from" -> copyFrom = Path.of(value(args, ++i, a));
                case "-h", "--help" -> {
                    System.out.println("usage: Launcher [--port P] [--data DIR] [--pagecache-mb N] [--copy-from HOME]");
                    return;
                }
                default -> fail("unknown argument: " + a);
            }
        }
        if (dataDir == null) {
            dataDir = Files.createTempDirectory("ringsight-neo4j");
        }
        Files.createDirectories(dataDir);

        SocketAddress bolt = new SocketAddress("127.0.0.1", port);
        Neo4jBuilder builder = Neo4jBuilders.newInProcessBuilder(dataDir.toAbsolutePath())
                // No HTTP/Jetty connector: clients only use Bolt.
                .withDisabledServer()
                .withConfig(BoltConnector.enabled, true)
                .withConfig(BoltConnector.listen_address, bolt)
                .withConfig(BoltConnector.advertised_address, bolt)
                .withConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                .withConfig(GraphDatabaseSettings.auth_enabled, false)
                .withConfig(GraphDatabaseSettings.procedure_unrestricted, List.of("gds.*"))
                .withConfig(GraphDatabaseSettings.pagecache_memory, pageCacheMb * 1024 * 1024)
                // Usage data collection would try to phone home; this runs offline.
                .withConfig(GraphDatabaseSettings.udc_enabled, false)
                // Netty's graceful-shutdown quiet period (internal setting, default 5 s, paid
                // once per Bolt event-loop group) made every stop take ~10 s.
                .withConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0);

        if (copyFrom != null) {
            if (!Files.isDirectory(copyFrom.resolve("data").resolve("databases"))) {
                fail("--copy-from " + copyFrom + " holds no data/databases folder");
            }
            builder.copyFrom(copyFrom.toAbsolutePath());
        }

        // GDS procedures are not picked up from the classpath in embedded/harness mode:
        // every annotated class has to be handed to the harness explicitly.
        long t0 = System.nanoTime();
        Registration reg = registerGds(builder);
        long tScanned = System.nanoTime();
        boolean haveArrowStub = false;
        if (!reg.names.contains(ArrowDebugStub.NAME)) {
            builder.withProcedure(ArrowDebugStub.class);
            haveArrowStub = true;
        }

        Neo4j neo4j = builder.build();
        long tStarted = System.nanoTime();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            long stopT0 = System.nanoTime();
            System.out.println("RINGSIGHT_NEO4J_STOPPING");
            System.out.flush();
            try {
                neo4j.close();
                System.out.printf("RINGSIGHT_NEO4J_STOPPED after %d ms%n", (System.nanoTime() - stopT0) / 1_000_000);
                System.out.flush();
            } catch (Throwable t) {
                t.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "ringsight-neo4j-shutdown"));

        // Prove GDS is callable before announcing readiness.
        Map<String, Object> info;
        try {
            info = neo4j.defaultDatabaseService().executeTransactionally(
                    "CALL gds.list() YIELD name WHERE name STARTS WITH 'gds.' "
                            + "RETURN gds.version() AS gds, count(*) AS entries",
                    Map.of(),
                    r -> r.next());
        } catch (RuntimeException e) {
            e.printStackTrace();
            fail("GDS did not answer after start: " + e.getMessage());
            return;
        }
        // gds.list() shows only public entries; the scan also registers @Internal ones.
        System.out.printf("RINGSIGHT_NEO4J_INFO home=%s gds=%s gds_list_entries=%s registered_classes=%d"
                        + " procedures=%d functions=%d aggregations=%d arrow_stub=%s scan_ms=%d start_ms=%d%n",
                neo4j.config().get(GraphDatabaseSettings.neo4j_home), info.get("gds"), info.get("entries"),
                reg.classes, reg.procedures, reg.functions, reg.aggregations, haveArrowStub,
                (tScanned - t0) / 1_000_000, (tStarted - tScanned) / 1_000_000);
        System.out.println(READY_PREFIX + "bolt://127.0.0.1:" + port);
        System.out.flush();

        stopped.await();
    }

    /** Counts of what was handed to the harness; names are the declared procedure/function names. */
    private static final class Registration {
        int classes, procedures, functions, aggregations;
        java.util.Set<String> names = new java.util.HashSet<>();
    }

    /**
     * Uses GDS's own scanner (proc-common; org.reflections over the org.neo4j.gds and
     * com.neo4j.gds packages) to find every method carrying a procedure/function
     * annotation, and registers each declaring class once per kind. (The Cypher
     * aggregation gds.graph.project carries no annotation: the kernel extension
     * CypherAggregationExtension in GDS's cypher-aggregation jar registers it, so the
     * aggregation count from the scan is normally 0.)
     */
    private static Registration registerGds(Neo4jBuilder builder) {
        Registration reg = new Registration();
        java.util.Set<Class<?>> all = new java.util.HashSet<>();
        for (Class<? extends Annotation> kind :
                List.of(Procedure.class, UserFunction.class, UserAggregationFunction.class)) {
            List<Method> methods = ProcedureAndFunctionScanner.streamMethodsContainingAnnotation(kind)
                    .filter(m -> isRegistrable(m.getDeclaringClass()))
                    .collect(Collectors.toList());
            methods.forEach(m -> reg.names.add(declaredName(m, kind)));
            List<Class<?>> classes = methods.stream()
                    .<Class<?>>map(Method::getDeclaringClass)
                    .distinct()
                    .sorted(Comparator.comparing(Class::getName))
                    .collect(Collectors.toList());
            for (Class<?> c : classes) {
                if (kind == Procedure.class) {
                    builder.withProcedure(c);
                } else if (kind == UserFunction.class) {
                    builder.withFunction(c);
                } else {
                    builder.withAggregationFunction(c);
                }
            }
            all.addAll(classes);
            if (kind == Procedure.class) reg.procedures = methods.size();
            else if (kind == UserFunction.class) reg.functions = methods.size();
            else reg.aggregations = methods.size();
        }
        reg.classes = all.size();
        if (reg.procedures == 0) {
            fail("no GDS procedures found on the classpath (is target/lib/* on -cp?)");
        }
        return reg;
    }

    /** Neo4j instantiates these classes itself: they must be public, concrete and top-level or static. */
    private static boolean isRegistrable(Class<?> c) {
        int mod = c.getModifiers();
        return Modifier.isPublic(mod) && !Modifier.isAbstract(mod) && !c.isInterface()
                && (c.getEnclosingClass() == null || Modifier.isStatic(mod));
    }

    private static String declaredName(Method m, Class<? extends Annotation> kind) {
        String name;
        String value;
        if (kind == Procedure.class) {
            Procedure p = m.getAnnotation(Procedure.class);
            name = p.name();
            value = p.value();
        } else if (kind == UserFunction.class) {
            UserFunction f = m.getAnnotation(UserFunction.class);
            name = f.name();
            value = f.value();
        } else {
            UserAggregationFunction f = m.getAnnotation(UserAggregationFunction.class);
            name = f.name();
            value = f.value();
        }
        return !name.isEmpty() ? name : value;
    }

    private static int defaultPort() {
        String env = System.getenv("RINGSIGHT_NEO4J_PORT");
        return env == null || env.isBlank() ? 7687 : Integer.parseInt(env.trim());
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length) {
            fail("missing value for " + flag);
        }
        return args[i];
    }

    private static void fail(String message) {
        System.err.println("ringsight-neo4j: " + message);
        System.exit(2);
    }
}
