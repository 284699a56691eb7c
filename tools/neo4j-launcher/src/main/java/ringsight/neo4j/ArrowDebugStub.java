package ringsight.neo4j;

import java.util.List;
import java.util.stream.Stream;

import org.neo4j.procedure.Description;
import org.neo4j.procedure.Mode;
import org.neo4j.procedure.Procedure;

/**
 * Stand-in for {@code gds.debug.arrow}, which only the Enterprise build of GDS has.
 *
 * <p>The Python {@code graphdatascience} 1.x client calls it while connecting
 * ({@code ArrowInfo.create}: YIELD listenAddress, enabled, running and, for GDS newer
 * than 2.6, versions). Reporting Arrow as disabled makes the client fall back to
 * plain Cypher over Bolt, which is all the open-source build supports.
 */
public class ArrowDebugStub {

    public static final String NAME = "gds.debug.arrow";

    /** One output row; Neo4j maps public fields to result columns. */
    public static class ArrowInfo {
        public String listenAddress;
        public String advertisedListenAddress;
        public boolean enabled;
        public boolean running;
        public List<String> versions;

        public ArrowInfo(String listenAddress, boolean enabled, boolean running, List<String> versions) {
            this.listenAddress = listenAddress;
            this.advertisedListenAddress = listenAddress;
            this.enabled = enabled;
            this.running = running;
            this.versions = versions;
        }
    }

    @Procedure(name = NAME, mode = Mode.READ)
    @Description("ringsight stub: the open-source GDS build has no Arrow Flight server, so Arrow is reported as disabled.")
    public Stream<ArrowInfo> arrow() {
        return Stream.of(new ArrowInfo("", false, false, List.of()));
    }
}
