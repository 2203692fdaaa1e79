package uk.nhs.hee.tis.examples.demo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Everything the drills run against, as real processes on 127.0.0.1: Keycloak, two instances of the Profile
 * service and one of Reference (each with the starter), and a fault proxy in front of each Profile instance
 * (drill D7 load-balances over both; the others call the first). The two tcs
 * instances under test are started per drill ({@link #tcs}).
 */
final class Fleet implements AutoCloseable {

	static final List<String> USERS = List.of("ada", "mary", "florence", "elizabeth", "james", "edward");

	private final Path apps;

	private final Path work;

	private final Keycloak keycloak;

	private final int profilePort = freePort();

	private final int referencePort = freePort();

	private final FaultProxy profileProxy;

	private final ManagedProcess profile;

	/** Profile's second instance (drill D7), with its own fault proxy. */
	private final int secondProfilePort = freePort();

	private final FaultProxy secondProfileProxy;

	private final ManagedProcess secondProfile;

	private Blackhole secondProfileCutOff;

	private final ManagedProcess reference;

	Fleet(Path apps, Path keycloakHome, Path work) throws IOException {
		this.apps = apps;
		this.work = Files.createDirectories(work);
		// Logs and key cache files of an earlier run would only mislead.
		try (Stream<Path> files = Files.list(work)) {
			for (Path file : files.toList()) {
				Files.deleteIfExists(file);
			}
		}
		this.keycloak = new Keycloak(keycloakHome, work.resolve("keycloak.log"));
		this.profileProxy = new FaultProxy(freePort(), "http://127.0.0.1:" + this.profilePort);
		this.profile = service("profile", this.profilePort, List.of());
		this.secondProfileProxy = new FaultProxy(freePort(), "http://127.0.0.1:" + this.secondProfilePort);
		this.secondProfile = service("profile-2", this.secondProfilePort, List.of());
		this.reference = service("reference", this.referencePort, List.of());
	}

	void start() throws IOException, InterruptedException {
		this.keycloak.start();
		startProfile();
		startSecondProfile();
		this.reference.start(URI.create("http://127.0.0.1:" + this.referencePort + "/reference/api/grades"),
				Duration.ofMinutes(1));
	}

	Keycloak keycloak() {
		return this.keycloak;
	}

	FaultProxy profileProxy() {
		return this.profileProxy;
	}

	/** Starts Profile and the proxy in front of it. */
	void startProfile() throws IOException, InterruptedException {
		this.profile.start(URI.create("http://127.0.0.1:" + this.profilePort + "/profile/api/userinfo"),
				Duration.ofMinutes(1));
		this.profileProxy.start();
	}

	FaultProxy secondProfileProxy() {
		return this.secondProfileProxy;
	}

	/** The two Profile instances' addresses, for discovery (each its fault proxy's). */
	List<String> profileInstances() {
		return List.of(this.profileProxy.url(), this.secondProfileProxy.url());
	}

	/** Starts Profile's second instance and its proxy. */
	void startSecondProfile() throws IOException, InterruptedException {
		this.secondProfile.start(URI.create("http://127.0.0.1:" + this.secondProfilePort + "/profile/api/userinfo"),
				Duration.ofMinutes(1));
		this.secondProfileProxy.start();
	}

	/** Kills Profile's second instance, and its proxy stops listening. */
	void killSecondProfile() {
		this.secondProfile.kill();
		this.secondProfileProxy.stop();
	}

	/** Cuts Profile's second instance off: its address drops every new connection (connect timeouts). */
	void cutOffSecondProfile() throws IOException {
		this.secondProfileProxy.stop();
		this.secondProfileCutOff = new Blackhole(this.secondProfileProxy.port());
	}

	/** Ends the cut: the address refuses connections until the proxy listens again. */
	void reconnectSecondProfile() throws IOException {
		if (this.secondProfileCutOff != null) {
			this.secondProfileCutOff.close();
			this.secondProfileCutOff = null;
		}
	}

	/** Kills Profile, and the proxy stops listening: callers find nobody at the address. */
	void killProfile() {
		this.profile.kill();
		this.profileProxy.stop();
	}

	/** The users' tokens, fresh from Keycloak (they live 15 minutes). */
	List<String> userTokens() throws IOException, InterruptedException {
		List<String> tokens = new ArrayList<>();
		for (String user : USERS) {
			tokens.add(this.keycloak.userToken(user));
		}
		return tokens;
	}

	/**
	 * A tcs instance, configured as in its application.yml plus what the drill sets.
	 * @param starter whether the starter is on ({@code tis.resilience.enabled})
	 * @param port the port it listens on
	 * @param drillArgs the drill's own settings
	 */
	ManagedProcess tcs(boolean starter, int port, List<String> drillArgs) {
		List<String> args = new ArrayList<>(List.of("--tis.resilience.enabled=" + starter,
				"--reference.url=http://127.0.0.1:" + this.referencePort + "/reference",
				// TIS's settings before the starter: 20 request threads, 30 s socket timeouts on every client.
				"--server.tomcat.threads.max=20", "--spring.http.clients.connect-timeout=1s",
				"--spring.http.clients.read-timeout=30s"));
		if (drillArgs.stream().noneMatch((arg) -> arg.startsWith("--profile.url="))) {
			args.add("--profile.url=" + this.profileProxy.url() + "/profile");
		}
		args.addAll(drillArgs);
		return service(starter ? "tcs-with-starter" : "tcs-without-starter", port, args);
	}

	@Override
	public void close() {
		this.profileProxy.stop();
		this.profile.stop();
		this.secondProfileProxy.stop();
		this.secondProfile.stop();
		try {
			reconnectSecondProfile();
		}
		catch (IOException ex) {
			// Closing anyway.
		}
		this.reference.stop();
		this.keycloak.stop();
	}

	private ManagedProcess service(String name, int port, List<String> extra) {
		String app = name.startsWith("tcs") ? "tcs" : (name.startsWith("profile") ? "profile" : name);
		List<String> command = new ArrayList<>(List.of(javaCommand(), "-Xmx256m", "-XX:+UseSerialGC",
				"-jar", this.apps.resolve(app + "-service.jar").toString(), "--server.port=" + port,
				"--server.address=127.0.0.1", "--keycloak.issuer=" + this.keycloak.issuer(),
				"--spring.main.banner-mode=off", "--logging.level.root=WARN",
				"--logging.level.uk.nhs.hee.tis=INFO",
				"--tis.resilience.jwt.cache-file=" + this.work.resolve(name + "-jwks.json")));
		command.addAll(extra);
		return new ManagedProcess(name, command, this.work.resolve(name + ".log"));
	}

	private static String javaCommand() {
		return Path.of(System.getProperty("java.home"), "bin", "java").toString();
	}

	static int freePort() {
		try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
			return socket.getLocalPort();
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

}
