package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.time.Duration;

import com.github.tomakehurst.wiremock.http.Fault;
import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.http.ResponseEntity;
import org.springframework.web.client.HttpServerErrorException;
import org.springframework.web.client.RestClient;

import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.serverError;
import static com.github.tomakehurst.wiremock.client.WireMock.serviceUnavailable;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatException;
import static org.awaitility.Awaitility.await;

/** stale-if-error: the last good userinfo of a caller, served to that caller only, within the window. */
class StaleIfErrorTests {

	@RegisterExtension
	static WireMockExtension server = LoopbackFixtures.loopbackServer();

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(LoopbackFixtures.protectedHttpClients())
		.withPropertyValues("tis.resilience.services.profile.url=" + server.baseUrl() + "/profile",
				"tis.resilience.services.profile.stale-if-error=10m",
				"tis.resilience.services.profile.response-timeout=500ms",
				"tis.resilience.services.profile.retry.max-attempts=1");

	private static void stubUserinfo(String token, String body) {
		server.stubFor(get("/profile/api/userinfo").withHeader("Authorization", equalTo("Bearer " + token))
			.willReturn(ok(body).withHeader("Content-Type", "application/json")));
	}

	private static ResponseEntity<String> userinfo(RestClient client, String token) {
		return client.get()
			.uri(server.baseUrl() + "/profile/api/userinfo")
			.header("Authorization", "Bearer " + token)
			.retrieve()
			.toEntity(String.class);
	}

	@Test
	void servesACallersLastGoodUserinfoToThatCallerDuringAnOutageMarkedStale() {
		stubUserinfo("ada", "{\"userName\":\"ada\"}");
		this.runner.run((context) -> {
			RestClient client = context.getBean(RestClient.Builder.class).build();
			assertThat(userinfo(client, "ada").getBody()).isEqualTo("{\"userName\":\"ada\"}");
			server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
			ResponseEntity<String> stale = userinfo(client, "ada");
			assertThat(stale.getBody()).isEqualTo("{\"userName\":\"ada\"}");
			assertThat(stale.getHeaders().getFirst("Warning")).contains("Response is Stale");
			assertThat(stale.getHeaders().getFirst("Age")).isNotNull();
			server.stubFor(get("/profile/api/userinfo").willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
			assertThat(userinfo(client, "ada").getBody()).isEqualTo("{\"userName\":\"ada\"}");
			server.stubFor(get("/profile/api/userinfo").willReturn(ok("late").withFixedDelay(3_000)));
			assertThat(userinfo(client, "ada").getBody()).isEqualTo("{\"userName\":\"ada\"}");
		});
	}

	@Test
	void servesTheKeptResponseWhileTheBreakerIsOpen() {
		stubUserinfo("ada", "{\"userName\":\"ada\"}");
		this.runner.run((context) -> {
			RestClient client = context.getBean(RestClient.Builder.class).build();
			userinfo(client, "ada");
			context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker().transitionToForcedOpenState();
			assertThat(userinfo(client, "ada").getBody()).isEqualTo("{\"userName\":\"ada\"}");
			assertThat(server.getAllServeEvents()).hasSize(1);
		});
	}

	@Test
	void servesTheKeptResponseWhenTheBodyIsBrokenOffMidway() {
		stubUserinfo("ada", "{\"userName\":\"ada\"}");
		this.runner.run((context) -> {
			RestClient client = context.getBean(RestClient.Builder.class).build();
			userinfo(client, "ada");
			server.stubFor(get("/profile/api/userinfo").willReturn(aResponse().withFault(Fault.MALFORMED_RESPONSE_CHUNK)));
			assertThat(userinfo(client, "ada").getBody()).isEqualTo("{\"userName\":\"ada\"}");
		});
	}

	@Test
	void neverServesOneCallersUserinfoToAnother() {
		stubUserinfo("ada", "{\"userName\":\"ada\"}");
		this.runner.run((context) -> {
			RestClient client = context.getBean(RestClient.Builder.class).build();
			userinfo(client, "ada");
			server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
			assertThatException().isThrownBy(() -> userinfo(client, "mary"))
				.isInstanceOf(HttpServerErrorException.ServiceUnavailable.class);
			assertThatException().isThrownBy(() -> client.get()
				.uri(server.baseUrl() + "/profile/api/userinfo")
				.retrieve()
				.body(String.class)).isInstanceOf(HttpServerErrorException.class);
		});
	}

	@Test
	void stopsServingStaleResponsesAfterTheWindow() {
		stubUserinfo("ada", "{\"userName\":\"ada\"}");
		this.runner.withPropertyValues("tis.resilience.services.profile.stale-if-error=300ms").run((context) -> {
			RestClient client = context.getBean(RestClient.Builder.class).build();
			userinfo(client, "ada");
			server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
			await().atMost(Duration.ofSeconds(5))
				.pollInterval(Duration.ofMillis(50))
				.untilAsserted(() -> assertThatException().isThrownBy(() -> userinfo(client, "ada")));
		});
	}

	@Test
	void neverHoldsBackAStreamOfServerSentEvents() throws Exception {
		java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
		try (uk.nhs.hee.tis.resilience.autoconfigure.ScriptedSocketServer events = new uk.nhs.hee.tis.resilience.autoconfigure.ScriptedSocketServer(
				(n) -> (connection) -> {
					java.io.OutputStream out = connection.getOutputStream();
					out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
							+ "data: one\n\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
					out.flush();
					try {
						release.await();
					}
					catch (InterruptedException ex) {
						Thread.currentThread().interrupt();
					}
					out.write("data: two\n\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
					out.flush();
				})) {
			this.runner.withPropertyValues("tis.resilience.services.events.url=" + events.url("/events"),
					"tis.resilience.services.events.stale-if-error=5m",
					"tis.resilience.services.events.response-timeout=10s").run((context) -> {
						RestClient client = context.getBean(RestClient.Builder.class).build();
						// Completed as soon as the first line is read (closing the response then drains the rest).
						java.util.concurrent.CompletableFuture<String> first = new java.util.concurrent.CompletableFuture<>();
						java.util.concurrent.CompletableFuture.runAsync(() -> client.get()
							.uri(events.url("/events/stream"))
							.exchange((request, response) -> {
								java.io.BufferedReader reader = new java.io.BufferedReader(
										new java.io.InputStreamReader(response.getBody()));
								first.complete(reader.readLine());
								return null;
							}, true));
						try {
							// The second event is held until the first has arrived: a cache that kept the
							// stream whole would hold the first back with it.
							assertThat(first.get(5, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("data: one");
						}
						finally {
							release.countDown();
						}
					});
		}
	}

	@Test
	void neverKeepsAServerError() {
		server.stubFor(get("/profile/api/userinfo").willReturn(serverError().withBody("partial failure")));
		this.runner.run((context) -> {
			RestClient client = context.getBean(RestClient.Builder.class).build();
			assertThatException().isThrownBy(() -> userinfo(client, "ada"));
			server.stubFor(get("/profile/api/userinfo").willReturn(ok("late").withFixedDelay(3_000)));
			assertThatException().isThrownBy(() -> userinfo(client, "ada"))
				.isInstanceOf(ServiceUnavailableException.class);
		});
	}

	@Test
	void passesAnOversizedBodyOnWholeWithoutKeepingIt() {
		String large = "x".repeat(4096);
		stubUserinfo("ada", large);
		this.runner.withPropertyValues("tis.resilience.stale-cache.max-body-size=1KB").run((context) -> {
			RestClient client = context.getBean(RestClient.Builder.class).build();
			assertThat(userinfo(client, "ada").getBody()).isEqualTo(large);
			server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
			assertThatException().isThrownBy(() -> userinfo(client, "ada"));
		});
	}

	@Test
	void neverKeepsAResponseMarkedNoStore() {
		server.stubFor(get("/profile/api/userinfo")
			.willReturn(ok("secret").withHeader("Cache-Control", "no-store")));
		this.runner.run((context) -> {
			RestClient client = context.getBean(RestClient.Builder.class).build();
			assertThat(userinfo(client, "ada").getBody()).isEqualTo("secret");
			server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
			assertThatException().isThrownBy(() -> userinfo(client, "ada"));
		});
	}

	@Test
	void keepsSpringSecuritysDefaultNoStoreResponsesPerCallerWhenTheServiceIgnoresNoStore() {
		String springSecurityDefault = "no-cache, no-store, max-age=0, must-revalidate";
		server.stubFor(get("/profile/api/userinfo").withHeader("Authorization", equalTo("Bearer ada"))
			.willReturn(ok("{\"userName\":\"ada\"}").withHeader("Cache-Control", springSecurityDefault)));
		this.runner.withPropertyValues("tis.resilience.services.profile.stale-if-error-ignores-no-store=true")
			.run((context) -> {
				RestClient client = context.getBean(RestClient.Builder.class).build();
				userinfo(client, "ada");
				server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
				assertThat(userinfo(client, "ada").getBody()).isEqualTo("{\"userName\":\"ada\"}");
				assertThatException().isThrownBy(() -> userinfo(client, "mary"));
			});
	}

	@Test
	void keepsNothingForServicesWithoutStaleIfError() {
		server.stubFor(get("/elsewhere").willReturn(ok("there")));
		this.runner.run((context) -> {
			RestClient client = context.getBean(RestClient.Builder.class).build();
			String url = "http://localhost:" + server.getPort() + "/elsewhere";
			assertThat(client.get().uri(url).retrieve().body(String.class)).isEqualTo("there");
			server.stubFor(get("/elsewhere").willReturn(serviceUnavailable()));
			assertThatException().isThrownBy(() -> client.get().uri(url).retrieve().body(String.class));
		});
	}

	@Test
	void forgetsTheCopyOnceTheServiceAnswersForbiddenAndNeverReplaysASetCookie() {
		server.stubFor(get("/profile/api/userinfo")
			.willReturn(ok("{\"userName\":\"ada\"}").withHeader("Set-Cookie", "session=ada")));
		this.runner.run((context) -> {
			RestClient client = context.getBean(RestClient.Builder.class).build();
			assertThat(userinfo(client, "ada").getHeaders().getFirst("Set-Cookie")).isEqualTo("session=ada");
			server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
			ResponseEntity<String> stale = userinfo(client, "ada");
			assertThat(stale.getBody()).isEqualTo("{\"userName\":\"ada\"}");
			assertThat(stale.getHeaders().containsHeader("Set-Cookie")).isFalse();
			// Access revoked: the old answer must not come back in the next outage.
			server.stubFor(get("/profile/api/userinfo").willReturn(com.github.tomakehurst.wiremock.client.WireMock.forbidden()));
			assertThatException().isThrownBy(() -> userinfo(client, "ada"));
			server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
			assertThatException().isThrownBy(() -> userinfo(client, "ada"));
		});
	}

	@Test
	void neverReplacesAGoodCopyWithAWholeButMalformedJsonAnswer() {
		stubUserinfo("ada", "{\"userName\":\"ada\"}");
		this.runner.run((context) -> {
			RestClient client = context.getBean(RestClient.Builder.class).build();
			assertThat(userinfo(client, "ada").getBody()).isEqualTo("{\"userName\":\"ada\"}");
			stubUserinfo("ada", "{\"userName\":\"a");
			assertThat(userinfo(client, "ada").getBody()).isEqualTo("{\"userName\":\"a");
			server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
			assertThat(userinfo(client, "ada").getBody()).isEqualTo("{\"userName\":\"ada\"}");
		});
	}

}
