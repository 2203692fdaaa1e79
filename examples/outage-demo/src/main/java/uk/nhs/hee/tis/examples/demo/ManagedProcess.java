package uk.nhs.hee.tis.examples.demo;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A process the demo started: a service jar or Keycloak, with its output in a log file. Stopping
 * it stops every process it started, and a shutdown hook (Ctrl-C, a failure) stops whatever is
 * still running.
 */
final class ManagedProcess {

	private static final HttpClient PROBE = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

	private final String name;

	private final List<String> command;

	private final Path log;

	private final Thread stopOnExit = new Thread(this::stop);

	private Process process;

	private final Map<String, String> environment;

	ManagedProcess(String name, List<String> command, Path log) {
		this(name, command, Map.of(), log);
	}

	ManagedProcess(String name, List<String> command, Map<String, String> environment, Path log) {
		this.name = name;
		this.command = List.copyOf(command);
		this.environment = Map.copyOf(environment);
		this.log = log;
	}

	String name() {
		return this.name;
	}

	/**
	 * Starts the process and waits until {@code readyUrl} answers with a status below 500.
	 * @param readyUrl a URL the process serves once it is ready
	 * @param timeout how long to wait
	 */
	void start(URI readyUrl, Duration timeout) throws IOException, InterruptedException {
		ProcessBuilder builder = new ProcessBuilder(this.command).redirectErrorStream(true)
			.redirectOutput(ProcessBuilder.Redirect.appendTo(this.log.toFile()));
		builder.environment().putAll(this.environment);
		this.process = builder.start();
		Runtime.getRuntime().addShutdownHook(this.stopOnExit);
		long deadline = System.nanoTime() + timeout.toNanos();
		while (true) {
			if (!this.process.isAlive()) {
				throw new IllegalStateException(this.name + " exited with " + this.process.exitValue() + ": see " + this.log);
			}
			if (answers(readyUrl)) {
				return;
			}
			if (System.nanoTime() > deadline) {
				stop();
				throw new IllegalStateException(this.name + " was not ready within " + timeout + ": see " + this.log);
			}
			TimeUnit.MILLISECONDS.sleep(200);
		}
	}

	/** Kills the process (SIGKILL, as an outage does) and every process it started. */
	void kill() {
		end(true);
	}

	/** Stops the process gracefully, then forcibly if it does not stop within 20 s. */
	void stop() {
		end(false);
	}

	private void end(boolean kill) {
		Process running = this.process;
		if (running == null) {
			return;
		}
		List<ProcessHandle> children = running.toHandle().descendants().toList();
		if (kill) {
			children.forEach(ProcessHandle::destroyForcibly);
			running.destroyForcibly();
		}
		else {
			children.forEach(ProcessHandle::destroy);
			running.destroy();
		}
		try {
			if (!running.waitFor(20, TimeUnit.SECONDS)) {
				children.forEach(ProcessHandle::destroyForcibly);
				running.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
			}
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
		this.process = null;
		try {
			Runtime.getRuntime().removeShutdownHook(this.stopOnExit);
		}
		catch (IllegalStateException ex) {
			// The JVM is shutting down: this is the hook running.
		}
	}

	private static boolean answers(URI url) throws InterruptedException {
		try {
			HttpResponse<Void> response = PROBE.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(2)).build(),
					HttpResponse.BodyHandlers.discarding());
			return response.statusCode() < 500;
		}
		catch (IOException ex) {
			return false;
		}
	}

}
