package uk.nhs.hee.tis.resilience.autoconfigure.token;

import java.time.Duration;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.security.oauth2.client.autoconfigure.OAuth2ClientAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.web.client.RestClient;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;
import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.token.ServiceTokenCache;

import static com.github.tomakehurst.wiremock.client.WireMock.absent;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.serviceUnavailable;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.stubbing.Scenario.STARTED;
import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/** Client-credentials tokens from a stand-in Keycloak token endpoint, sent to a downstream on loopback. */
class ServiceTokenTests {

	private static final String TOKEN_PATH = "/realms/tis/protocol/openid-connect/token";

	@RegisterExtension
	static WireMockExtension server = LoopbackFixtures.loopbackServer();

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(
				LoopbackFixtures.protectedHttpClients(OAuth2ClientAutoConfiguration.class, ServiceTokenAutoConfiguration.class))
		.withPropertyValues("spring.security.oauth2.client.registration.tcs.client-id=tcs",
				"spring.security.oauth2.client.registration.tcs.client-secret=secret",
				"spring.security.oauth2.client.registration.tcs.authorization-grant-type=client_credentials",
				"spring.security.oauth2.client.registration.tcs.provider=keycloak",
				"spring.security.oauth2.client.provider.keycloak.token-uri=" + server.baseUrl() + TOKEN_PATH,
				"tis.resilience.services.reference.url=" + server.baseUrl() + "/reference",
				"tis.resilience.services.reference.client-registration=tcs",
				"tis.resilience.service-tokens.min-backoff=50ms", "tis.resilience.service-tokens.max-backoff=200ms");

	private static void tokenEndpointIssues(String token, int expiresIn) {
		server.stubFor(post(TOKEN_PATH).willReturn(okJson(
				"{\"access_token\":\"" + token + "\",\"token_type\":\"Bearer\",\"expires_in\":" + expiresIn + "}")));
	}

	private static String callReference(RestClient client) {
		return client.get().uri(server.baseUrl() + "/reference/api/bulk").retrieve().body(String.class);
	}

	@Test
	void sendsTheServiceTokenOnlyToTheServiceThatNamesIt() {
		tokenEndpointIssues("token-1", 300);
		server.stubFor(get("/reference/api/bulk").withHeader("Authorization", equalTo("Bearer token-1")).willReturn(ok("bulk")));
		server.stubFor(get("/elsewhere").willReturn(ok("there")));
		this.runner.run((context) -> {
			RestClient client = context.getBean(RestClient.Builder.class).build();
			assertThat(callReference(client)).isEqualTo("bulk");
			client.get().uri("http://127.0.0.1:" + server.getPort() + "/elsewhere").retrieve().body(String.class);
			server.verify(getRequestedFor(urlPathEqualTo("/elsewhere")).withHeader("Authorization", absent()));
		});
	}

	@Test
	void keepsUsingTheCurrentTokenWhileTheTokenEndpointIsDown() {
		tokenEndpointIssues("token-1", 300);
		server.stubFor(get("/reference/api/bulk").withHeader("Authorization", equalTo("Bearer token-1")).willReturn(ok("bulk")));
		this.runner.run((context) -> {
			RestClient client = context.getBean(RestClient.Builder.class).build();
			assertThat(callReference(client)).isEqualTo("bulk");
			server.stubFor(post(TOKEN_PATH).willReturn(serviceUnavailable()));
			for (int i = 0; i < 5; i++) {
				assertThat(callReference(client)).isEqualTo("bulk");
			}
			server.verify(1, postRequestedFor(urlPathEqualTo(TOKEN_PATH)));
		});
	}

	@Test
	void fetchesTheTokenAtStartupAndRefreshesItAheadOfExpiry() {
		server.stubFor(post(TOKEN_PATH).inScenario("tokens")
			.whenScenarioStateIs(STARTED)
			.willReturn(okJson("{\"access_token\":\"token-1\",\"token_type\":\"Bearer\",\"expires_in\":8}"))
			.willSetStateTo("second"));
		server.stubFor(post(TOKEN_PATH).inScenario("tokens")
			.whenScenarioStateIs("second")
			.willReturn(okJson("{\"access_token\":\"token-2\",\"token_type\":\"Bearer\",\"expires_in\":300}")));
		server.stubFor(get("/reference/api/bulk").withHeader("Authorization", equalTo("Bearer token-1")).willReturn(ok("first")));
		server.stubFor(get("/reference/api/bulk").withHeader("Authorization", equalTo("Bearer token-2")).willReturn(ok("fresh")));
		this.runner.withPropertyValues("tis.resilience.service-tokens.refresh-at=0.3").run((context) -> {
			// Fetched at startup, before any call needs it.
			await().atMost(Duration.ofSeconds(3))
				.until(() -> server.findAll(postRequestedFor(urlPathEqualTo(TOKEN_PATH))).size() >= 1);
			RestClient client = context.getBean(RestClient.Builder.class).build();
			// Refreshed in the background at 30% of the first token's 8 s life, long before it expires.
			await().atMost(Duration.ofSeconds(6)).until(() -> callReference(client).equals("fresh"));
			assertThat(server.findAll(postRequestedFor(urlPathEqualTo(TOKEN_PATH)))).hasSize(2);
		});
	}

	@ParameterizedTest(name = "token endpoint {0}")
	@ValueSource(strings = { "hanging", "dribbling" })
	void neverHoldsACallerAndEndsEachTokenFetchAtItsDeadlineWhenTheTokenEndpointIsSlow(String fault) {
		String body = "{\"access_token\":\"token-1\",\"token_type\":\"Bearer\",\"expires_in\":300}";
		server.stubFor(post(TOKEN_PATH).willReturn(switch (fault) {
			case "hanging" -> okJson(body).withFixedDelay(20_000);
			// A chunk every 400 ms for 20 s: no single read waits long.
			default -> okJson(body).withChunkedDribbleDelay(50, 20_000);
		}));
		server.stubFor(get("/reference/api/bulk").withHeader("Authorization", equalTo("Bearer token-1")).willReturn(ok("bulk")));
		this.runner.withPropertyValues("tis.resilience.service-tokens.fetch-timeout=1s").run((context) -> {
			RestClient client = context.getBean(RestClient.Builder.class).build();
			long started = System.nanoTime();
			assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(() -> callReference(client));
			assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofMillis(500));
			// Were a fetch held by the endpoint for its 20 s, no new one could start before then.
			tokenEndpointIssues("token-1", 300);
			await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100))
				.ignoreExceptionsInstanceOf(ServiceUnavailableException.class)
				.untilAsserted(
					() -> assertThat(callReference(client)).isEqualTo("bulk"));
		});
	}

	@ParameterizedTest(name = "{0}")
	@ValueSource(strings = { "no expires_in", "expires_in 0", "expires_in 4", "JWT without expires_in" })
	void usesATokenWhoseResponseStatesNoUsefulLifetime(String response) throws Exception {
		String token = response.startsWith("JWT") ? unsignedJwtExpiringIn(Duration.ofMinutes(10)) : "token-1";
		String expiresIn = switch (response) {
			case "expires_in 0" -> ",\"expires_in\":0";
			case "expires_in 4" -> ",\"expires_in\":4";
			default -> "";
		};
		server.stubFor(post(TOKEN_PATH).willReturn(
				okJson("{\"access_token\":\"" + token + "\",\"token_type\":\"Bearer\"" + expiresIn + "}")));
		server.stubFor(get("/reference/api/bulk").withHeader("Authorization", equalTo("Bearer " + token)).willReturn(ok("bulk")));
		this.runner.run((context) -> {
			RestClient client = context.getBean(RestClient.Builder.class).build();
			for (int i = 0; i < 10; i++) {
				assertThat(callReference(client)).isEqualTo("bulk");
			}
			assertThat(server.findAll(postRequestedFor(urlPathEqualTo(TOKEN_PATH)))).hasSize(1);
		});
	}

	private static String unsignedJwtExpiringIn(Duration lifetime) {
		java.util.Base64.Encoder encoder = java.util.Base64.getUrlEncoder().withoutPadding();
		String header = encoder.encodeToString("{\"alg\":\"none\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
		long exp = java.time.Instant.now().plus(lifetime).getEpochSecond();
		String claims = encoder.encodeToString(("{\"sub\":\"tcs\",\"exp\":" + exp + "}")
			.getBytes(java.nio.charset.StandardCharsets.UTF_8));
		return header + "." + claims + ".";
	}

	@ParameterizedTest(name = "{0} {1}")
	@org.junit.jupiter.params.provider.CsvSource({ "401, invalid_client", "400, unauthorized_client" })
	void backsOffAndSaysSoWhenTheTokenEndpointRefusesTheCredentials(int status, String error) {
		// The cache logs through System.Logger, which is java.util.logging here.
		java.util.List<String> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
		java.util.logging.Logger log = java.util.logging.Logger.getLogger(ServiceTokenCache.class.getName());
		java.util.logging.Handler handler = new java.util.logging.Handler() {

			@Override
			public void publish(java.util.logging.LogRecord record) {
				if (record.getLevel() == java.util.logging.Level.SEVERE) {
					errors.add(record.getMessage());
				}
			}

			@Override
			public void flush() {
			}

			@Override
			public void close() {
			}

		};
		log.addHandler(handler);
		server.stubFor(post(TOKEN_PATH).willReturn(aResponse().withStatus(status)
			.withHeader("Content-Type", "application/json")
			.withBody("{\"error\":\"" + error + "\",\"error_description\":\"Invalid client credentials\"}")));
		this.runner.withPropertyValues("tis.resilience.service-tokens.min-backoff=1s",
				"tis.resilience.service-tokens.max-backoff=30s")
			.run((context) -> {
				RestClient client = context.getBean(RestClient.Builder.class).build();
				for (int i = 0; i < 20; i++) {
					assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(() -> callReference(client))
						.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.CREDENTIALS_REFUSED))
						.satisfies((ex) -> assertThat(ex.service()).isEqualTo("reference"));
				}
				assertThat(server.findAll(postRequestedFor(urlPathEqualTo(TOKEN_PATH)))).hasSizeLessThanOrEqualTo(2);
				server.verify(0, getRequestedFor(urlPathEqualTo("/reference/api/bulk")));
				assertThat(errors).singleElement().asString().contains("event=service_token_refused client=tcs");
			});
		log.removeHandler(handler);
	}

	@Test
	void saysTheTokenCouldNotBeHadWhenTheTokenEndpointIsDown() {
		server.stubFor(post(TOKEN_PATH).willReturn(aResponse().withStatus(503)));
		this.runner.run((context) -> {
			RestClient client = context.getBean(RestClient.Builder.class).build();
			assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(() -> callReference(client))
				.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.SERVICE_TOKEN_UNAVAILABLE));
		});
	}

	@Test
	void stopsStartupWhenAServiceNamesAnUnknownRegistration() {
		this.runner.withPropertyValues("tis.resilience.services.reference.client-registration=missing")
			.run((context) -> assertThat(context).hasFailed()
				.getFailure()
				.rootCause()
				.hasMessageContaining("tis.resilience.services.reference.client-registration names 'missing'"));
	}

}
