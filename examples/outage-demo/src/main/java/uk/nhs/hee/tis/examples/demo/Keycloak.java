package uk.nhs.hee.tis.examples.demo;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A real Keycloak, run from its distribution ({@code org.keycloak:keycloak-quarkus-dist}, unpacked
 * by Maven) in development mode on 127.0.0.1, on ports of its own, with the {@code tis} realm
 * imported. It keeps its data (and so its signing keys) across a kill and a restart, as a real
 * Keycloak does. The drills use it, and so do the end-to-end tests of the
 * {@code tis-resilience-keycloak-tests} module.
 */
public final class Keycloak {

	/** The password of every user of the demo realm. */
	static final String PASSWORD = "Password1";

	private final ManagedProcess process;

	private final int port;

	private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

	/**
	 * Prepares a Keycloak with an empty database and the {@code tis} realm to import.
	 * @param home where the distribution is unpacked
	 * @param log the file its output goes to
	 * @throws IOException when the realm cannot be put in place
	 */
	public Keycloak(Path home, Path log) throws IOException {
		this.port = Fleet.freePort();
		int managementPort = Fleet.freePort();
		Path data = home.resolve("data");
		if (Files.exists(data)) {
			// A fresh realm on each run: the realm file is imported only into an empty database.
			try (Stream<Path> files = Files.walk(data)) {
				files.sorted(Comparator.reverseOrder()).forEach((file) -> file.toFile().delete());
			}
		}
		Path imports = Files.createDirectories(data.resolve("import"));
		try (InputStream realm = Keycloak.class.getResourceAsStream("/keycloak/tis-realm.json")) {
			Files.copy(realm, imports.resolve("tis-realm.json"), StandardCopyOption.REPLACE_EXISTING);
		}
		Path script = home.resolve("bin").resolve("kc.sh");
		script.toFile().setExecutable(true);
		this.process = new ManagedProcess("keycloak",
				List.of(script.toString(), "start-dev", "--http-host=127.0.0.1", "--http-port=" + port,
						"--http-management-port=" + managementPort, "--import-realm", "--cache=local"),
				// The JIT's first tier only: Keycloak restarts in the drills in about half the time.
				Map.of("JAVA_OPTS_APPEND", "-Xmx512m -XX:TieredStopAtLevel=1"), log);
	}

	/** Starts Keycloak and waits until the realm answers. */
	public void start() throws IOException, InterruptedException {
		this.process.start(URI.create(issuer() + "/.well-known/openid-configuration"), Duration.ofMinutes(3));
	}

	/** Kills Keycloak as an outage would: no shutdown, no goodbye. */
	public void kill() {
		this.process.kill();
	}

	/** Stops Keycloak gracefully. */
	public void stop() {
		this.process.stop();
	}

	/** The realm's issuer URL. */
	public String issuer() {
		return "http://127.0.0.1:" + this.port + "/realms/tis";
	}

	/** A user's access token, from the password grant of the public {@code tis-ui} client. */
	public String userToken(String userName) throws IOException, InterruptedException {
		return token("grant_type=password&client_id=tis-ui&username=" + URLEncoder.encode(userName, StandardCharsets.UTF_8)
				+ "&password=" + PASSWORD);
	}

	private String token(String form) throws IOException, InterruptedException {
		HttpRequest request = HttpRequest.newBuilder(URI.create(issuer() + "/protocol/openid-connect/token"))
			.header("Content-Type", "application/x-www-form-urlencoded")
			.timeout(Duration.ofSeconds(10))
			.POST(HttpRequest.BodyPublishers.ofString(form))
			.build();
		HttpResponse<String> response = this.client.send(request, HttpResponse.BodyHandlers.ofString());
		String body = response.body();
		int start = body.indexOf("\"access_token\":\"");
		if (response.statusCode() != 200 || start < 0) {
			throw new IllegalStateException("Keycloak refused a token (" + response.statusCode() + "): " + body);
		}
		start += "\"access_token\":\"".length();
		return body.substring(start, body.indexOf('"', start));
	}

}
