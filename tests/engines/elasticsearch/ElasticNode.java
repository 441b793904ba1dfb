import com.carrotsearch.randomizedtesting.RandomizedRunner;
import com.carrotsearch.randomizedtesting.annotations.ThreadLeakScope;
import com.carrotsearch.randomizedtesting.annotations.Timeout;
import com.carrotsearch.randomizedtesting.annotations.TimeoutSuite;

import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.http.HttpServerTransport;
import org.elasticsearch.node.MockNode;
import org.elasticsearch.node.Node;
import org.elasticsearch.transport.netty4.Netty4Plugin;
import org.junit.Test;
import org.junit.runner.JUnitCore;
import org.junit.runner.Result;
import org.junit.runner.RunWith;
import org.junit.runner.notification.Failure;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One Elasticsearch node for the live search-store tests (started by tests/engines/elastic_node.py).
 *
 * <p>Usage: {@code java -cp <classes>:<jars> ElasticNode <home> <http port, 0 for any> [cluster name]}.
 * The node keeps its data under {@code <home>}, serves HTTP on 127.0.0.1 and, once started, writes its
 * HTTP port to {@code <home>/http.port}. It stops when its standard input closes (so it never outlives
 * the process that started it) or when it is killed.
 *
 * <p>The test framework's {@link MockNode} only runs inside a randomized-testing context (started plainly
 * it fails with "No context information for thread"), so the node runs as the one JUnit test of this
 * class under {@link RandomizedRunner}, with thread-leak checks off and no time-outs.
 */
@RunWith(RandomizedRunner.class)
@ThreadLeakScope(ThreadLeakScope.Scope.NONE)
@TimeoutSuite(millis = Integer.MAX_VALUE)
public class ElasticNode {
    private static Path home;
    private static String httpPort;
    private static String clusterName;

    public static void main(String[] args) {
        if (args.length < 2) {
            System.err.println("usage: ElasticNode <home> <http port, 0 for any> [cluster name]");
            System.exit(2);
        }
        home = Path.of(args[0]).toAbsolutePath();
        httpPort = args[1];
        clusterName = args.length > 2 ? args[2] : "yuqing-test";
        Result result = new JUnitCore().run(ElasticNode.class);
        for (Failure failure : result.getFailures()) {
            System.err.println(failure.getTrace());
        }
        for (Failure failure : result.getFailures()) { // last, so the end of the log says why
            for (Throwable cause = failure.getException(); cause != null; cause = cause.getCause()) {
                System.err.println("ElasticNode failed: " + cause);
            }
        }
        System.exit(result.wasSuccessful() ? 0 : 1);
    }

    @Test
    @Timeout(millis = Integer.MAX_VALUE)
    public void serve() throws Exception {
        Settings settings = Settings.builder()
            .put("cluster.name", clusterName)
            .put("node.name", "yuqing-es")
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("discovery.type", "single-node")
            .put("http.type", Netty4Plugin.NETTY_HTTP_TRANSPORT_NAME)
            .put("transport.type", Netty4Plugin.NETTY_TRANSPORT_NAME)
            .put("network.host", "127.0.0.1")
            .put("http.port", httpPort)
            .put("transport.port", "0")
            // a nearly full disk must not keep the test indices from being allocated
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            // the heap is small: trip the breakers on what requests account for, not on the GC's timing
            .put("indices.breaker.total.use_real_memory", false)
            .build();
        Node node = new MockNode(settings, List.of(Netty4Plugin.class));
        try {
            node.start();
            int port = node.injector().getInstance(HttpServerTransport.class).boundAddress().publishAddress().getPort();
            Path partial = home.resolve("http.port.partial");
            Files.writeString(partial, Integer.toString(port), StandardCharsets.UTF_8);
            Files.move(partial, home.resolve("http.port"), StandardCopyOption.ATOMIC_MOVE);
            System.out.println("yuqing: Elasticsearch serves http://127.0.0.1:" + port);
            System.out.flush();
            while (System.in.read() != -1) {
                // serve until whoever started us closes our standard input (or exits)
            }
        } finally {
            node.close();
            node.awaitClose(10, TimeUnit.SECONDS);
        }
    }
}
