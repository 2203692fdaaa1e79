package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import com.github.tomakehurst.wiremock.http.Fault;
import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import com.github.tomakehurst.wiremock.stubbing.ServeEvent;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.ContextConsumer;
import org.springframework.web.client.HttpClientErrorException;
import org.springframework.web.client.HttpServerErrorException;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestClientException;

import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.serviceUnavailable;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static com.github.tomakehurst.wiremock.stubbing.Scenario.STARTED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The protected call path, against a real HTTP server on loopback that misbehaves, through each of
 * Spring's blocking clients as a user builds it.
 */
class ProtectedCallsTests {

	@RegisterExtension
	static WireMockExtension server = LoopbackFixtures.loopbackServer(wireMockConfig().containerThreads(40));

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(LoopbackFixtures.protectedHttpClients())
		.withPropertyValues("tis.resilience.services.profile.url=" + server.baseUrl() + "/profile",
				"tis.resilience.services.reference.url=" + server.baseUrl() + "/reference",
				"tis.resilience.defaults.retry.initial-backoff=10ms");

	private static String profile(String path) {
		return server.baseUrl() + "/profile" + path;
	}

	private void run(String[] properties, ContextConsumer<AssertableApplicationContext> test) {
		this.runner.withPropertyValues(properties).run(test);
	}

	private static String[] props(String... properties) {
		return properties;
	}

	@ParameterizedTest
	@EnumSource(ClientKind.class)
	void endsACallToAServerThatNeverAnswersAtTheDeadline(ClientKind kind) {
		server.stubFor(get("/profile/api/userinfo").willReturn(ok("late").withFixedDelay(30_000)));
		run(props("tis.resilience.services.profile.response-timeout=1s",
				"tis.resilience.services.profile.retry.max-attempts=1"), (context) -> {
					ClientKind.TestClient client = kind.create(context);
					long start = System.nanoTime();
					assertThatExceptionOfType(ServiceUnavailableException.class)
						.isThrownBy(() -> client.get(profile("/api/userinfo")))
						.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.TIMEOUT))
						.satisfies((ex) -> assertThat(ex.service()).isEqualTo("profile"));
					assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
				});
	}

	@ParameterizedTest
	@EnumSource(ClientKind.class)
	void neverRetriesAnAttemptThatTimedOut(ClientKind kind) {
		// A slow service is not helped by a second request, and the caller would wait twice as long.
		server.stubFor(get("/profile/api/userinfo").willReturn(ok("late").withFixedDelay(30_000)));
		run(props("tis.resilience.services.profile.response-timeout=500ms",
				"tis.resilience.services.profile.retry.max-attempts=3"), (context) -> {
					ClientKind.TestClient client = kind.create(context);
					assertThatExceptionOfType(ServiceUnavailableException.class)
						.isThrownBy(() -> client.get(profile("/api/userinfo")))
						.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.TIMEOUT));
					server.verify(1, getRequestedFor(urlPathEqualTo("/profile/api/userinfo")));
				});
	}

	@ParameterizedTest
	@EnumSource(ClientKind.class)
	void endsACallWhoseBodyDribblesPastTheDeadline(ClientKind kind) {
		server.stubFor(get("/profile/api/userinfo")
			.willReturn(ok("abcdefghijklmnopqrst").withChunkedDribbleDelay(20, 20_000)));
		run(props("tis.resilience.services.profile.response-timeout=1s",
				"tis.resilience.services.profile.retry.max-attempts=1"), (context) -> {
					ClientKind.TestClient client = kind.create(context);
					long start = System.nanoTime();
					assertThatExceptionOfType(ServiceUnavailableException.class)
						.isThrownBy(() -> client.get(profile("/api/userinfo")))
						.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.TIMEOUT));
					assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
					// The timed-out call counts against the breaker and gives its bulkhead slot back.
					CircuitBreaker breaker = context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker();
					assertThat(breaker.getMetrics().getNumberOfFailedCalls()).isEqualTo(1);
					assertThat(context.getBean(ServiceGuardRegistry.class)
						.guard("profile")
						.bulkhead()
						.getMetrics()
						.getAvailableConcurrentCalls()).isEqualTo(25);
				});
	}

	@ParameterizedTest(name = "{0}, status {1}, max-attempts {2}")
	@CsvSource({ "http-components, 200, 1", "http-components, 503, 1", "http-components, 503, 2", "reactor, 200, 1",
			"reactor, 503, 2", "jdk, 503, 2", "jetty, 503, 2" })
	void endsACallWhoseBodyDribblesWithinEachReadTimeoutAtTheDeadline(String factory, int status, int maxAttempts) {
		// Three parts a second: each read is well within the 1 s read timeout, the whole body takes 12 s. Apache
		// HttpClient and Reactor Netty bound each read only, and Spring closes their responses by reading the rest
		// of the body, so a retried 503 held the caller for 24 s.
		server.stubFor(get("/profile/api/userinfo").willReturn(aResponse().withStatus(status)
			.withBody("abcdefghijklmnopqrstuvwxyz0123456789")
			.withChunkedDribbleDelay(36, 12_000)));
		run(props("spring.http.clients.imperative.factory=" + factory,
				"tis.resilience.services.profile.response-timeout=1s",
				"tis.resilience.services.profile.retry.max-attempts=" + maxAttempts), (context) -> {
					RestClient client = context.getBean(RestClient.Builder.class).build();
					long start = System.nanoTime();
					assertThatExceptionOfType(ServiceUnavailableException.class)
						.isThrownBy(() -> client.get().uri(profile("/api/userinfo")).retrieve().body(String.class))
						.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.TIMEOUT));
					// Each attempt ends at its deadline: at most two of them here (decision 0028), and a tick late.
					assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(maxAttempts * 1_000 + 1_500));
					assertThat(server.getAllServeEvents()).hasSizeLessThanOrEqualTo(maxAttempts);
					assertThat(context.getBean(ServiceGuardRegistry.class)
						.guard("profile")
						.bulkhead()
						.getMetrics()
						.getAvailableConcurrentCalls()).isEqualTo(25);
				});
	}

	@ParameterizedTest
	@EnumSource(ClientKind.class)
	void opensTheBreakerAfterFailuresThenRecoversAfterTheWait(ClientKind kind) {
		server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
		run(props("tis.resilience.services.profile.retry.max-attempts=1",
				"tis.resilience.services.profile.circuit-breaker.sliding-window-size=4",
				"tis.resilience.services.profile.circuit-breaker.minimum-number-of-calls=4",
				"tis.resilience.services.profile.circuit-breaker.wait-duration-in-open-state=300ms",
				"tis.resilience.services.profile.circuit-breaker.permitted-calls-in-half-open-state=1"), (context) -> {
					ClientKind.TestClient client = kind.create(context);
					for (int i = 0; i < 4; i++) {
						assertThatExceptionOfType(HttpServerErrorException.ServiceUnavailable.class)
							.isThrownBy(() -> client.get(profile("/api/userinfo")));
					}
					assertThatExceptionOfType(ServiceUnavailableException.class)
						.isThrownBy(() -> client.get(profile("/api/userinfo")))
						.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.CIRCUIT_OPEN))
						.satisfies((ex) -> assertThat(ex.retryAfter()).hasValueSatisfying(
								(wait) -> assertThat(wait).isBetween(Duration.ZERO, Duration.ofMillis(300))));
					server.verify(4, getRequestedFor(urlPathEqualTo("/profile/api/userinfo")));
					assertThat(client.attempts()).isEqualTo(4);

					server.stubFor(get("/profile/api/userinfo").willReturn(ok("recovered")));
					await().atMost(Duration.ofSeconds(5))
						.pollInterval(Duration.ofMillis(50))
						.ignoreException(ServiceUnavailableException.class)
						.until(() -> client.get(profile("/api/userinfo")), "recovered"::equals);
					assertThat(context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker().getState())
						.isEqualTo(CircuitBreaker.State.CLOSED);
				});
	}

	@ParameterizedTest
	@EnumSource(ClientKind.class)
	void startsNoRetryWhoseBackoffWouldEndPastTheFirstResponseTimeout(ClientKind kind) {
		server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable().withFixedDelay(300)));
		run(props("tis.resilience.services.profile.response-timeout=1s",
				"tis.resilience.services.profile.retry.max-attempts=3",
				"tis.resilience.services.profile.retry.initial-backoff=900ms",
				"tis.resilience.services.profile.retry.jitter=0"), (context) -> {
					ClientKind.TestClient client = kind.create(context);
					assertThatThrownBy(() -> client.get(profile("/api/userinfo"))).isNotNull();
					server.verify(1, getRequestedFor(urlPathEqualTo("/profile/api/userinfo")));
				});
	}

	@ParameterizedTest
	@EnumSource(ClientKind.class)
	void startsNoRetryOnceTheCallHasTakenItsResponseTimeout(ClientKind kind) {
		// Each 503 comes late: the first attempt ends at 600 ms and is retried; the second ends past the call's
		// first second, so no third starts, whatever max-attempts allows (decision 0028).
		server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable().withFixedDelay(600)));
		run(props("tis.resilience.services.profile.response-timeout=1s",
				"tis.resilience.services.profile.retry.max-attempts=5"), (context) -> {
					ClientKind.TestClient client = kind.create(context);
					assertThatThrownBy(() -> client.get(profile("/api/userinfo"))).isNotNull();
					server.verify(2, getRequestedFor(urlPathEqualTo("/profile/api/userinfo")));
				});
	}

	@ParameterizedTest
	@EnumSource(ClientKind.class)
	void retriesAGetThatGot503(ClientKind kind) {
		server.stubFor(get("/profile/api/userinfo").inScenario("flaky")
			.whenScenarioStateIs(STARTED)
			.willReturn(serviceUnavailable())
			.willSetStateTo("up"));
		server.stubFor(get("/profile/api/userinfo").inScenario("flaky").whenScenarioStateIs("up").willReturn(ok("me")));
		run(props(), (context) -> {
			ClientKind.TestClient client = kind.create(context);
			assertThat(client.get(profile("/api/userinfo"))).isEqualTo("me");
			server.verify(2, getRequestedFor(urlPathEqualTo("/profile/api/userinfo")));
			// One logical call: the breaker saw one success, not a failure and a success.
			CircuitBreaker breaker = context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker();
			assertThat(breaker.getMetrics().getNumberOfSuccessfulCalls()).isEqualTo(1);
			assertThat(breaker.getMetrics().getNumberOfFailedCalls()).isZero();
		});
	}

	static Stream<Arguments> postFaults() {
		List<Arguments> arguments = new ArrayList<>();
		for (ClientKind kind : ClientKind.values()) {
			arguments.add(Arguments.of(kind, "503"));
			arguments.add(Arguments.of(kind, "connection reset"));
			arguments.add(Arguments.of(kind, "timeout"));
		}
		return arguments.stream();
	}

	@ParameterizedTest(name = "{0} {1}")
	@MethodSource("postFaults")
	void neverSendsAPostTwiceOnceItReachedTheServer(ClientKind kind, String fault) {
		switch (fault) {
			case "503" -> server.stubFor(post("/profile/api/trainees").willReturn(serviceUnavailable()));
			case "connection reset" -> server
				.stubFor(post("/profile/api/trainees").willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
			default -> server.stubFor(post("/profile/api/trainees").willReturn(ok().withFixedDelay(5_000)));
		}
		run(props("tis.resilience.services.profile.retry.max-attempts=3",
				"tis.resilience.services.profile.response-timeout=500ms"), (context) -> {
					ClientKind.TestClient client = kind.create(context);
					assertThatThrownBy(() -> client.post(profile("/api/trainees"), "{\"name\":\"x\"}")).isNotNull();
					server.verify(1, postRequestedFor(urlPathEqualTo("/profile/api/trainees")));
					assertThat(client.attempts()).isEqualTo(1);
				});
	}

	@ParameterizedTest
	@EnumSource(ClientKind.class)
	void retriesAPostWhoseConnectionWasRefused(ClientKind kind) throws IOException {
		int closedPort;
		try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
			closedPort = socket.getLocalPort();
		}
		String url = "http://127.0.0.1:" + closedPort;
		run(props("tis.resilience.services.closed.url=" + url, "tis.resilience.services.closed.retry.max-attempts=3"),
				(context) -> {
					ClientKind.TestClient client = kind.create(context);
					assertThatExceptionOfType(ServiceUnavailableException.class)
						.isThrownBy(() -> client.post(url + "/api/trainees", "{}"))
						.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.CONNECT_FAILURE))
						.satisfies((ex) -> assertThat(ex.service()).isEqualTo("closed"));
					assertThat(client.attempts()).isEqualTo(3);
				});
	}

	static Stream<Arguments> redirects() {
		List<Arguments> arguments = new ArrayList<>();
		for (ClientKind kind : ClientKind.values()) {
			for (int status : new int[] { 301, 302, 303, 307, 308 }) {
				arguments.add(Arguments.of(kind, status));
			}
		}
		return arguments.stream();
	}

	@ParameterizedTest(name = "{0} {1}")
	@MethodSource("redirects")
	void neverSendsAPostAgainWhoseRedirectLedToARefusedConnection(ClientKind kind, int status) throws IOException {
		String refused;
		try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
			refused = "http://127.0.0.1:" + socket.getLocalPort();
		}
		server.stubFor(post("/profile/api/orders").willReturn(aResponse().withStatus(status)
			.withHeader("Location", refused + "/api/orders")));
		run(props("tis.resilience.services.profile.retry.max-attempts=3"), (context) -> {
			ClientKind.TestClient client = kind.create(context);
			assertThatExceptionOfType(ServiceUnavailableException.class)
				.isThrownBy(() -> client.post(profile("/api/orders"), "one order"))
				.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.CONNECT_FAILURE));
			// The first server had the POST: a connection refused after its redirect is not a request never sent.
			server.verify(1, postRequestedFor(urlPathEqualTo("/profile/api/orders")));
			assertThat(client.attempts()).isEqualTo(1);
		});
	}

	static Stream<Arguments> redirectsFollowed() {
		List<Arguments> arguments = new ArrayList<>();
		for (String enabled : List.of("true", "false")) {
			arguments.add(Arguments.of(enabled, 301, "GET"));
			arguments.add(Arguments.of(enabled, 302, "GET"));
			arguments.add(Arguments.of(enabled, 303, "GET"));
			arguments.add(Arguments.of(enabled, 307, "POST"));
			arguments.add(Arguments.of(enabled, 308, "POST"));
		}
		return arguments.stream();
	}

	@ParameterizedTest(name = "starter enabled={0}: {1} -> {2}")
	@MethodSource("redirectsFollowed")
	void followsAPostsRedirectAsPlainBootDoes(String enabled, int status, String method) {
		server.stubFor(post("/profile/api/orders").willReturn(aResponse().withStatus(status)
			.withHeader("Location", "/profile/api/orders/1")));
		server.stubFor(any(urlPathEqualTo("/profile/api/orders/1")).willReturn(ok("order 1")));
		run(props("tis.resilience.enabled=" + enabled, "tis.resilience.services.profile.retry.max-attempts=3"),
				(context) -> {
					RestClient client = context.getBean(RestClient.Builder.class).build();
					String answer = client.post()
						.uri(profile("/api/orders"))
						.header("Authorization", "Bearer same-origin")
						.body("one order")
						.retrieve()
						.body(String.class);
					assertThat(answer).isEqualTo("order 1");
					server.verify(1, postRequestedFor(urlPathEqualTo("/profile/api/orders")));
					List<ServeEvent> followed = server.getAllServeEvents()
						.stream()
						.filter((event) -> event.getRequest().getUrl().equals("/profile/api/orders/1"))
						.toList();
					assertThat(followed).singleElement().satisfies((event) -> {
						assertThat(event.getRequest().getMethod().getName()).isEqualTo(method);
						assertThat(event.getRequest().getBodyAsString()).isEqualTo(method.equals("POST") ? "one order" : "");
						if (enabled.equals("true")) {
							// The same origin: the credentials go with it, as Reactor Netty and the JDK client send them
							// (Apache HttpClient, plain Boot's client here, sends none of the caller's headers after a
							// redirect that turns a POST into a GET).
							assertThat(event.getRequest().getHeader("Authorization")).isEqualTo("Bearer same-origin");
						}
					});
				});
	}

	@ParameterizedTest(name = "{0}")
	@ValueSource(strings = { "jdk", "http-components", "reactor", "simple" })
	void followsOrHandsBackAPostsRedirectAsPlainBootDoesOnEachClient(String factory) {
		// Clients differ: Spring's simple client hands a POST's redirect back, Reactor Netty keeps the POST on 301
		// and 302. With the starter on, the wire and the answer are what plain Boot gives. (Jetty is left out: on
		// its own it sometimes aborts a POST whose redirect arrives before the body is sent, so two runs of plain
		// Boot differ.)
		server.stubFor(any(urlPathEqualTo("/profile/api/orders/1")).atPriority(10).willReturn(ok("order 1")));
		List<String> differences = new ArrayList<>();
		for (int status : new int[] { 301, 302, 303, 307, 308 }) {
			server.stubFor(post("/profile/api/orders").atPriority(1).willReturn(aResponse().withStatus(status)
				.withHeader("Location", "/profile/api/orders/1")));
			List<String> seen = new ArrayList<>();
			for (String enabled : List.of("true", "false")) {
				server.resetRequests();
				run(props("tis.resilience.enabled=" + enabled, "spring.http.clients.imperative.factory=" + factory),
						(context) -> {
							int answered = context.getBean(RestClient.Builder.class).build().post()
								.uri(profile("/api/orders")).body("one order").retrieve()
								.onStatus((code) -> code.is3xxRedirection(), (request, response) -> {
								})
								.toBodilessEntity().getStatusCode().value();
							StringBuilder wire = new StringBuilder(answered + ":");
							server.getAllServeEvents().stream()
								.sorted(java.util.Comparator.comparing((event) -> event.getRequest().getLoggedDate()))
								.forEach((event) -> wire.append(' ').append(event.getRequest().getMethod()).append(' ')
									.append(event.getRequest().getUrl()).append(event.getRequest().getMethod()
										.getName().equals("GET") ? "" : " " + event.getRequest().getBodyAsString()));
							seen.add(wire.toString());
						});
			}
			if (!seen.get(0).equals(seen.get(1))) {
				differences.add(status + " with the starter [" + seen.get(0) + "], without [" + seen.get(1) + "]");
			}
		}
		assertThat(differences).isEmpty();
	}

	@ParameterizedTest(name = "{0}")
	@ValueSource(strings = { "http-components", "jdk", "jetty", "reactor", "simple" })
	void answersAGetIntoARedirectLoopAsPlainBootDoesOnEachClient(String factory) {
		// Clients end a redirect loop differently: Apache and Spring's simple client fail the call, the JDK,
		// Jetty and Reactor Netty clients hand the last redirect back (Jetty failing its body, which a caller
		// that wants no body never reads). With the starter the caller gets the same kind of answer; a failed
		// GET is retried as any server error is (another instance may answer it), so at most max-attempts
		// times the requests.
		server.stubFor(get("/profile/api/loop").willReturn(aResponse().withStatus(302)
			.withHeader("Location", "/profile/api/loop")));
		List<String> answers = new ArrayList<>();
		List<Integer> requests = new ArrayList<>();
		for (String enabled : List.of("true", "false")) {
			server.resetRequests();
			run(props("tis.resilience.enabled=" + enabled, "spring.http.clients.imperative.factory=" + factory,
					"tis.resilience.services.profile.retry.max-attempts=2"), (context) -> {
						String answer;
						try {
							answer = String.valueOf(context.getBean(RestClient.Builder.class).build().get()
								.uri(profile("/api/loop")).retrieve()
								.onStatus((code) -> code.is3xxRedirection(), (request, response) -> {
								})
								.toBodilessEntity().getStatusCode().value());
						}
						catch (ServiceUnavailableException | RestClientException ex) {
							answer = "failed";
						}
						answers.add(answer);
						requests.add(server.getAllServeEvents().size());
					});
		}
		assertThat(answers.get(0)).as("the answer with the starter").isEqualTo(answers.get(1));
		assertThat(requests.get(0)).as("requests with the starter").isBetween(requests.get(1), 2 * requests.get(1));
	}

	@ParameterizedTest(name = "{0}")
	@ValueSource(strings = { "jdk", "http-components", "reactor" })
	void followsAPostsRedirectWithoutWaitingForTheRedirectsBody(String factory) {
		// The redirect's own body dribbles for 6 s. The JDK client follows at once without the starter; with it,
		// closing the 302 read its body to the end (Spring's close does), the attempt's deadline passed, and the
		// caller got a timeout instead of the order.
		server.stubFor(post("/profile/api/orders").willReturn(aResponse().withStatus(302)
			.withHeader("Location", "/profile/api/orders/1")
			.withBody("a redirect body that takes its time, sixty bytes of it.....")
			.withChunkedDribbleDelay(30, 6_000)));
		server.stubFor(get("/profile/api/orders/1").willReturn(ok("order 1")));
		server.stubFor(post("/profile/api/orders/1").willReturn(ok("order 1")));
		run(props("spring.http.clients.imperative.factory=" + factory,
				"tis.resilience.services.profile.response-timeout=1s"), (context) -> {
					RestClient client = context.getBean(RestClient.Builder.class).build();
					long start = System.nanoTime();
					assertThat(client.post().uri(profile("/api/orders")).body("one order").retrieve().body(String.class))
						.isEqualTo("order 1");
					assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(2_500));
					server.verify(1, postRequestedFor(urlPathEqualTo("/profile/api/orders")));
				});
	}

	@ParameterizedTest(name = "starter enabled={0}")
	@ValueSource(strings = { "true", "false" })
	void followsAPostsSecondRedirectAsPlainBootDoes(String enabled) {
		// POST, 307 to the canonical address, 303 to the result (post/redirect/get): the body is sent twice, so
		// it must be one the client can write again, or Apache HttpClient stops at the 303.
		server.stubFor(post("/profile/api/orders").willReturn(aResponse().withStatus(307)
			.withHeader("Location", "/profile/api/v2/orders")));
		server.stubFor(post("/profile/api/v2/orders").willReturn(aResponse().withStatus(303)
			.withHeader("Location", "/profile/api/orders/1")));
		server.stubFor(get("/profile/api/orders/1").willReturn(ok("order 1")));
		run(props("tis.resilience.enabled=" + enabled), (context) -> {
			RestClient client = context.getBean(RestClient.Builder.class).build();
			assertThat(client.post().uri(profile("/api/orders")).body("one order").retrieve().body(String.class))
				.isEqualTo("order 1");
			server.verify(1, postRequestedFor(urlPathEqualTo("/profile/api/orders")));
			server.verify(1, postRequestedFor(urlPathEqualTo("/profile/api/v2/orders"))
				.withRequestBody(com.github.tomakehurst.wiremock.client.WireMock.equalTo("one order")));
		});
	}

	@ParameterizedTest(name = "{0}")
	@ValueSource(ints = { 302, 307 })
	void sendsNoCredentialsToARedirectOnAnotherOrigin(int status) {
		// localhost and 127.0.0.1 are two origins, though one server.
		server.stubFor(post("/profile/api/orders").willReturn(aResponse().withStatus(status)
			.withHeader("Location", "http://127.0.0.1:" + server.getPort() + "/profile/api/orders/1")));
		server.stubFor(any(urlPathEqualTo("/profile/api/orders/1")).willReturn(ok("order 1")));
		run(props("tis.resilience.services.profile.retry.max-attempts=3"), (context) -> {
			RestClient client = context.getBean(RestClient.Builder.class).build();
			assertThat(client.post()
				.uri(profile("/api/orders"))
				.header("Authorization", "Bearer for-profile")
				.header("Cookie", "session=1")
				.body("one order")
				.retrieve()
				.body(String.class)).isEqualTo("order 1");
			List<ServeEvent> followed = server.getAllServeEvents()
				.stream()
				.filter((event) -> event.getRequest().getUrl().equals("/profile/api/orders/1"))
				.toList();
			assertThat(followed).singleElement().satisfies((event) -> {
				assertThat(event.getRequest().containsHeader("Authorization")).isFalse();
				assertThat(event.getRequest().containsHeader("Cookie")).isFalse();
			});
		});
	}

	@ParameterizedTest
	@EnumSource(ClientKind.class)
	void keepsRetriesWithinTheBudgetDuringASustainedOutage(ClientKind kind) {
		server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
		int calls = 100;
		run(props("tis.resilience.services.profile.retry.max-attempts=3",
				"tis.resilience.services.profile.retry.initial-backoff=1ms",
				"tis.resilience.services.profile.retry.budget-ratio=0.2",
				"tis.resilience.services.profile.retry.budget-min-per-second=2",
				"tis.resilience.services.profile.circuit-breaker.minimum-number-of-calls=100000",
				"tis.resilience.services.profile.circuit-breaker.sliding-window-size=100000"), (context) -> {
					ClientKind.TestClient client = kind.create(context);
					long start = System.nanoTime();
					for (int i = 0; i < calls; i++) {
						assertThatExceptionOfType(HttpServerErrorException.class)
							.isThrownBy(() -> client.get(profile("/api/userinfo")));
					}
					long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start) + 1;
					int requests = server.findAll(getRequestedFor(urlPathEqualTo("/profile/api/userinfo"))).size();
					// Without a budget this outage would see 300 requests.
					assertThat(requests).isGreaterThan(calls).isLessThanOrEqualTo((int) (calls * 1.2 + 2 * seconds));
				});
	}

	@ParameterizedTest
	@EnumSource(ClientKind.class)
	void doesNotCountClientErrorsAgainstTheBreaker(ClientKind kind) {
		server.stubFor(get("/profile/api/missing").willReturn(aResponse().withStatus(404)));
		server.stubFor(get("/profile/api/bad").willReturn(aResponse().withStatus(400)));
		run(props("tis.resilience.services.profile.circuit-breaker.sliding-window-size=4",
				"tis.resilience.services.profile.circuit-breaker.minimum-number-of-calls=4"), (context) -> {
					ClientKind.TestClient client = kind.create(context);
					for (int i = 0; i < 5; i++) {
						assertThatExceptionOfType(HttpClientErrorException.NotFound.class)
							.isThrownBy(() -> client.get(profile("/api/missing")));
						assertThatExceptionOfType(HttpClientErrorException.BadRequest.class)
							.isThrownBy(() -> client.get(profile("/api/bad")));
					}
					CircuitBreaker breaker = context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker();
					assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.CLOSED);
					assertThat(breaker.getMetrics().getNumberOfFailedCalls()).isZero();
					// Not retried either: 5 calls to each path.
					server.verify(5, getRequestedFor(urlPathEqualTo("/profile/api/missing")));
				});
	}

	@ParameterizedTest
	@EnumSource(ClientKind.class)
	void waitsAsLongAsRetryAfterSaysBeforeRetryingA429(ClientKind kind) {
		server.stubFor(get("/profile/api/userinfo").inScenario("throttled")
			.whenScenarioStateIs(STARTED)
			.willReturn(aResponse().withStatus(429).withHeader("Retry-After", "1"))
			.willSetStateTo("open"));
		server.stubFor(get("/profile/api/userinfo").inScenario("throttled").whenScenarioStateIs("open").willReturn(ok("me")));
		run(props(), (context) -> {
			ClientKind.TestClient client = kind.create(context);
			assertThat(client.get(profile("/api/userinfo"))).isEqualTo("me");
			List<ServeEvent> events = server.getAllServeEvents();
			assertThat(events).hasSize(2);
			long first = events.get(1).getRequest().getLoggedDate().getTime();
			long second = events.get(0).getRequest().getLoggedDate().getTime();
			assertThat(second - first).isGreaterThanOrEqualTo(950);
		});
	}

	@ParameterizedTest
	@EnumSource(ClientKind.class)
	void doesNotWaitForARetryAfterLongerThanTheMaximumBackoff(ClientKind kind) {
		server.stubFor(get("/profile/api/userinfo")
			.willReturn(aResponse().withStatus(429).withHeader("Retry-After", "120")));
		run(props(), (context) -> {
			ClientKind.TestClient client = kind.create(context);
			assertThatExceptionOfType(HttpClientErrorException.TooManyRequests.class)
				.isThrownBy(() -> client.get(profile("/api/userinfo")));
			server.verify(1, getRequestedFor(urlPathEqualTo("/profile/api/userinfo")));
			CircuitBreaker breaker = context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker();
			assertThat(breaker.getMetrics().getNumberOfFailedCalls()).isEqualTo(1);
		});
	}

	@ParameterizedTest
	@EnumSource(ClientKind.class)
	void rejectsAThirdConcurrentCallAtOnceWhenTheBulkheadHoldsTwo(ClientKind kind) throws Exception {
		server.stubFor(get("/profile/api/slow").willReturn(ok("slow").withFixedDelay(3_000)));
		ExecutorService executor = Executors.newFixedThreadPool(2);
		try {
			run(props("tis.resilience.services.profile.bulkhead.max-concurrent-calls=2"), (context) -> {
				ClientKind.TestClient client = kind.create(context);
				List<Future<String>> inFlight = List.of(executor.submit(() -> client.get(profile("/api/slow"))),
						executor.submit(() -> client.get(profile("/api/slow"))));
				await().atMost(Duration.ofSeconds(5))
					.until(() -> server.findAll(getRequestedFor(urlPathEqualTo("/profile/api/slow"))).size() == 2);
				assertThatExceptionOfType(ServiceUnavailableException.class)
					.isThrownBy(() -> client.get(profile("/api/slow")))
					.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.BULKHEAD_FULL));
				for (Future<String> call : inFlight) {
					assertThat(call.get(10, TimeUnit.SECONDS)).isEqualTo("slow");
				}
				server.verify(2, getRequestedFor(urlPathEqualTo("/profile/api/slow")));
			});
		}
		finally {
			executor.shutdownNow();
		}
	}

	@ParameterizedTest
	@EnumSource(ClientKind.class)
	void keepsCallingReferenceWhileProfileIsFailing(ClientKind kind) {
		server.stubFor(get("/profile/api/userinfo").willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
		server.stubFor(get("/reference/api/grades").willReturn(ok("grades")));
		run(props("tis.resilience.defaults.retry.max-attempts=1",
				"tis.resilience.defaults.circuit-breaker.sliding-window-size=4",
				"tis.resilience.defaults.circuit-breaker.minimum-number-of-calls=4"), (context) -> {
					ClientKind.TestClient client = kind.create(context);
					for (int i = 0; i < 4; i++) {
						assertThatThrownBy(() -> client.get(profile("/api/userinfo"))).isNotNull();
					}
					assertThatExceptionOfType(ServiceUnavailableException.class)
						.isThrownBy(() -> client.get(profile("/api/userinfo")))
						.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.CIRCUIT_OPEN));
					for (int i = 0; i < 10; i++) {
						assertThat(client.get(server.baseUrl() + "/reference/api/grades")).isEqualTo("grades");
					}
					ServiceGuardRegistry registry = context.getBean(ServiceGuardRegistry.class);
					assertThat(registry.guard("reference").circuitBreaker().getState())
						.isEqualTo(CircuitBreaker.State.CLOSED);
				});
	}

	@ParameterizedTest
	@EnumSource(ClientKind.class)
	void givesAnUnconfiguredHostTheDefaults(ClientKind kind) {
		server.stubFor(get("/elsewhere").willReturn(ok("there")));
		run(props("tis.resilience.defaults.bulkhead.max-concurrent-calls=7"), (context) -> {
			ClientKind.TestClient client = kind.create(context);
			String url = "http://localhost:" + server.getPort() + "/elsewhere";
			assertThat(client.get(url)).isEqualTo("there");
			ServiceGuardRegistry registry = context.getBean(ServiceGuardRegistry.class);
			assertThat(registry.guards()).extracting("name").contains("localhost:" + server.getPort());
			assertThat(registry.guard("localhost:" + server.getPort()).policy()).isEqualTo(registry.defaultPolicy());
			assertThat(registry.defaultPolicy().bulkhead().maxConcurrentCalls()).isEqualTo(7);
		});
	}

}
