package uk.nhs.hee.tis.resilience.keycloak;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * A real Keycloak, started from its distribution as a plain process on 127.0.0.1 with the test
 * realm imported, and stopped (with every process it started) when the test is done or the JVM
 * exits.
 */
final class KeycloakProcess implements AutoCloseable {

	private final Path home;

	private final int port;

	private final Path log;

	private Process process;

	private final Thread killer = new Thread(this::stop, "keycloak-killer");

	KeycloakProcess(Path home) throws IOException {
		this.home = home;
		this.port = freePort();
		this.log = Files.createTempFile("keycloak-", ".log");
	}

	void start() throws IOException {
		Path imports = this.home.resolve("data").resolve("import");
		Files.createDirectories(imports);
		try (var realm = KeycloakProcess.class.getResourceAsStream("/tis-realm.json")) {
			Files.copy(realm, imports.resolve("tis-realm.json"), StandardCopyOption.REPLACE_EXISTING);
		}
		Path script = this.home.resolve("bin").resolve("kc.sh");
		script.toFile().setExecutable(true);
		ProcessBuilder builder = new ProcessBuilder(List.of(script.toString(), "start-dev", "--http-host=127.0.0.1",
				"--http-port=" + this.port, "--http-management-port=" + freePort(), "--import-realm",
				"--cache=local"))
			.redirectErrorStream(true)
			.redirectOutput(this.log.toFile());
		builder.environment().put("JAVA_OPTS_APPEND", "-Xmx512m");
		this.process = builder.start();
		Runtime.getRuntime().addShutdownHook(this.killer);
		HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
		await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions().until(() -> {
			if (!this.process.isAlive()) {
				throw new IllegalStateException("Keycloak exited: see " + this.log);
			}
			HttpResponse<Void> response = client.send(
					HttpRequest.newBuilder(URI.create(issuer() + "/.well-known/openid-configuration")).build(),
					HttpResponse.BodyHandlers.discarding());
			return response.statusCode() == 200;
		});
	}

	String issuer() {
		return "http://127.0.0.1:" + this.port + "/realms/tis";
	}

	String tokenUri() {
		return issuer() + "/protocol/openid-connect/token";
	}

	/** A token for tcs's service account (client credentials). */
	String serviceAccountToken() throws IOException, InterruptedException {
		HttpRequest request = HttpRequest.newBuilder(URI.create(tokenUri()))
			.header("Content-Type", "application/x-www-form-urlencoded")
			.POST(HttpRequest.BodyPublishers
				.ofString("grant_type=client_credentials&client_id=tcs&client_secret=tcs-secret"))
			.build();
		String body = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString()).body();
		int start = body.indexOf("\"access_token\":\"") + "\"access_token\":\"".length();
		return body.substring(start, body.indexOf('"', start));
	}

	void stop() {
		if (this.process == null) {
			return;
		}
		this.process.toHandle().descendants().forEach(ProcessHandle::destroy);
		this.process.destroy();
		try {
			if (!this.process.waitFor(30, TimeUnit.SECONDS)) {
				this.process.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
				this.process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
			}
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

	@Override
	public void close() {
		stop();
		try {
			Runtime.getRuntime().removeShutdownHook(this.killer);
		}
		catch (IllegalStateException ex) {
			// Already shutting down.
		}
	}

	private static int freePort() {
		try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
			return socket.getLocalPort();
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

}
