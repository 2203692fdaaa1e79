package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.net.URI;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ApplicationContext;
import org.springframework.http.HttpHeaders;
import org.springframework.http.ResponseEntity;
import org.springframework.http.client.ClientHttpRequestInterceptor;
import org.springframework.http.client.support.HttpRequestWrapper;
import org.springframework.web.client.HttpServerErrorException;
import org.springframework.web.client.RestClient;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.autoconfigure.token.ServiceTokenProvider;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.serviceUnavailable;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * A stale copy is keyed by the credentials the request carried on the wire, after every interceptor of
 * the client — including a token relay, a cookie or a tenant header that runs after the starter's —
 * so that one user's kept userinfo is never served to another, whether the service failed on the
 * wire or the breaker rejected the call without I/O.
 */
class StaleIfErrorCredentialsTests {

	private static final String USERINFO = "/profile/api/userinfo";

	@RegisterExtension
	static WireMockExtension server = LoopbackFixtures.loopbackServer();

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(LoopbackFixtures.protectedHttpClients())
		.withPropertyValues("tis.resilience.services.plain.url=" + server.baseUrl() + "/profile",
				"tis.resilience.services.plain.stale-if-error=5m", "tis.resilience.services.plain.retry.max-attempts=1");

	/** The signed-in user, as a token relay would read it from the security context. */
	private final AtomicReference<String> signedIn = new AtomicReference<>();

	private static RestClient relayingClient(ApplicationContext context, ClientHttpRequestInterceptor relay) {
		return context.getBean(RestClient.Builder.class).requestInterceptor(relay).build();
	}

	private ClientHttpRequestInterceptor tokenRelay() {
		return (request, body, execution) -> {
			request.getHeaders().setBearerAuth(this.signedIn.get());
			return execution.execute(request, body);
		};
	}

	private static String userinfo(RestClient client) {
		return client.get().uri(server.baseUrl() + USERINFO).retrieve().body(String.class);
	}

	private static void profileAnswersPerUser(String... cacheControl) {
		for (String user : new String[] { "alice", "bob" }) {
			var response = ok("{\"user\":\"" + user + "\"}").withHeader("Content-Type", "application/json");
			if (cacheControl.length > 0) {
				response = response.withHeader(HttpHeaders.CACHE_CONTROL, cacheControl[0]);
			}
			server.stubFor(get(USERINFO).withHeader("Authorization", equalTo("Bearer " + user)).willReturn(response));
		}
	}

	@Test
	void neverServesAlicesUserinfoToBobWhenALaterInterceptorRelaysTheToken() {
		profileAnswersPerUser();
		this.runner.run((context) -> {
			RestClient client = relayingClient(context, tokenRelay());
			this.signedIn.set("alice");
			assertThat(userinfo(client)).isEqualTo("{\"user\":\"alice\"}");
			server.stubFor(get(USERINFO).willReturn(serviceUnavailable()));
			this.signedIn.set("bob");
			assertThatExceptionOfType(HttpServerErrorException.class).isThrownBy(() -> userinfo(client));
			this.signedIn.set("alice");
			assertThat(userinfo(client)).isEqualTo("{\"user\":\"alice\"}");
		});
	}

	@Test
	void neverServesAlicesUserinfoToBobWhileTheBreakerIsOpenAndSendsNothing() {
		profileAnswersPerUser();
		this.runner.run((context) -> {
			RestClient client = relayingClient(context, tokenRelay());
			this.signedIn.set("alice");
			assertThat(userinfo(client)).isEqualTo("{\"user\":\"alice\"}");
			context.getBean(ServiceGuardRegistry.class).guard("plain").circuitBreaker().transitionToForcedOpenState();
			server.resetRequests();
			this.signedIn.set("bob");
			assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(() -> userinfo(client))
				.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(ServiceUnavailableException.Reason.CIRCUIT_OPEN));
			this.signedIn.set("alice");
			assertThat(userinfo(client)).isEqualTo("{\"user\":\"alice\"}");
			server.verify(0, getRequestedFor(urlEqualTo(USERINFO)));
		});
	}

	@Test
	void neverServesAlicesUserinfoToBobWithSpringSecuritysNoStoreIgnored() {
		profileAnswersPerUser("no-cache, no-store, max-age=0, must-revalidate");
		this.runner.withPropertyValues("tis.resilience.services.plain.stale-if-error-ignores-no-store=true")
			.run((context) -> {
				RestClient client = relayingClient(context, tokenRelay());
				this.signedIn.set("alice");
				userinfo(client);
				server.stubFor(get(USERINFO).willReturn(serviceUnavailable()));
				this.signedIn.set("bob");
				assertThatExceptionOfType(HttpServerErrorException.class).isThrownBy(() -> userinfo(client));
				this.signedIn.set("alice");
				assertThat(userinfo(client)).isEqualTo("{\"user\":\"alice\"}");
			});
	}

	@Test
	void keysByTheCookieALaterInterceptorAdds() {
		for (String user : new String[] { "alice", "bob" }) {
			server.stubFor(get(USERINFO).withHeader("Cookie", equalTo("SESSION=" + user))
				.willReturn(ok("{\"user\":\"" + user + "\"}")));
		}
		this.runner.run((context) -> {
			RestClient client = relayingClient(context, (request, body, execution) -> {
				request.getHeaders().set(HttpHeaders.COOKIE, "SESSION=" + this.signedIn.get());
				return execution.execute(request, body);
			});
			this.signedIn.set("alice");
			assertThat(userinfo(client)).isEqualTo("{\"user\":\"alice\"}");
			server.stubFor(get(USERINFO).willReturn(serviceUnavailable()));
			this.signedIn.set("bob");
			assertThatExceptionOfType(HttpServerErrorException.class).isThrownBy(() -> userinfo(client));
			this.signedIn.set("alice");
			assertThat(userinfo(client)).isEqualTo("{\"user\":\"alice\"}");
		});
	}

	@Test
	void checksVaryAgainstTheHeadersAsSent() {
		server.stubFor(get(USERINFO).willReturn(ok("{\"tenant\":\"hee\"}").withHeader(HttpHeaders.VARY, "X-Tenant")));
		AtomicReference<String> tenant = new AtomicReference<>("hee");
		this.runner.run((context) -> {
			RestClient client = relayingClient(context, (request, body, execution) -> {
				request.getHeaders().set("X-Tenant", tenant.get());
				return execution.execute(request, body);
			});
			assertThat(userinfo(client)).isEqualTo("{\"tenant\":\"hee\"}");
			server.stubFor(get(USERINFO).willReturn(serviceUnavailable()));
			tenant.set("other");
			assertThatExceptionOfType(HttpServerErrorException.class).isThrownBy(() -> userinfo(client));
			tenant.set("hee");
			assertThat(userinfo(client)).isEqualTo("{\"tenant\":\"hee\"}");
		});
	}

	@Test
	void keepsServingTheServiceAccountsCopyAfterItsTokenIsRefreshed() {
		AtomicReference<String> serviceToken = new AtomicReference<>("token-1");
		server.stubFor(get(USERINFO).withHeader("Authorization", equalTo("Bearer token-1"))
			.willReturn(ok("{\"user\":\"tcs-service-account\"}")));
		this.runner.withBean(ServiceTokenProvider.class, () -> (service) -> serviceToken.get()).run((context) -> {
			RestClient client = context.getBean(RestClient.Builder.class).build();
			assertThat(userinfo(client)).isEqualTo("{\"user\":\"tcs-service-account\"}");
			server.stubFor(get(USERINFO).willReturn(serviceUnavailable()));
			serviceToken.set("token-2");
			assertThat(userinfo(client)).isEqualTo("{\"user\":\"tcs-service-account\"}");
			ResponseEntity<String> asAlice = client.get()
				.uri(server.baseUrl() + USERINFO)
				.header("Authorization", "Bearer alice")
				.retrieve()
				.onStatus((status) -> true, (request, response) -> {
				})
				.toEntity(String.class);
			assertThat(asAlice.getStatusCode().value()).isEqualTo(503);
		});
	}

	@Test
	void keepsNothingForAClientWhoseRequestFactoryTheStarterDoesNotWrap() {
		server.stubFor(get(USERINFO).willReturn(ok("{\"user\":\"alice\"}")));
		this.runner.run((context) -> {
			RestClient client = context.getBean(RestClient.Builder.class)
				.requestFactory(new org.springframework.http.client.SimpleClientHttpRequestFactory())
				.requestInterceptor(tokenRelay())
				.build();
			this.signedIn.set("alice");
			assertThat(userinfo(client)).isEqualTo("{\"user\":\"alice\"}");
			server.stubFor(get(USERINFO).willReturn(serviceUnavailable()));
			this.signedIn.set("bob");
			assertThatExceptionOfType(HttpServerErrorException.class).isThrownBy(() -> userinfo(client));
			context.getBean(ServiceGuardRegistry.class).guard("plain").circuitBreaker().transitionToForcedOpenState();
			server.resetRequests();
			this.signedIn.set("alice");
			assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(() -> userinfo(client));
			// No probe through a factory that would really send the request.
			server.verify(0, getRequestedFor(urlEqualTo(USERINFO)));
		});
	}

	@Test
	void keysByATokenALaterInterceptorPutsInTheQueryOfAWrappedRequest() {
		for (String user : new String[] { "alice", "bob" }) {
			server.stubFor(get(urlPathEqualTo(USERINFO)).withQueryParam("access_token", equalTo(user))
				.willReturn(ok("{\"user\":\"" + user + "\"}")));
		}
		this.runner.run((context) -> {
			RestClient client = relayingClient(context, (request, body, execution) -> {
				URI withToken = URI.create(request.getURI() + "?access_token=" + this.signedIn.get());
				return execution.execute(new HttpRequestWrapper(request) {

					@Override
					public URI getURI() {
						return withToken;
					}

				}, body);
			});
			this.signedIn.set("alice");
			assertThat(userinfo(client)).isEqualTo("{\"user\":\"alice\"}");
			server.stubFor(get(urlPathEqualTo(USERINFO)).willReturn(serviceUnavailable()));
			this.signedIn.set("bob");
			assertThatExceptionOfType(HttpServerErrorException.class).isThrownBy(() -> userinfo(client));
			context.getBean(ServiceGuardRegistry.class).guard("plain").circuitBreaker().transitionToForcedOpenState();
			assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(() -> userinfo(client));
			this.signedIn.set("alice");
			assertThat(userinfo(client)).isEqualTo("{\"user\":\"alice\"}");
		});
	}

	@Test
	void keysByAnApiKeyHeaderALaterInterceptorAdds() {
		for (String user : new String[] { "alice", "bob" }) {
			server.stubFor(get(USERINFO).withHeader("X-Api-Key", equalTo(user)).willReturn(ok("{\"user\":\"" + user + "\"}")));
		}
		this.runner.run((context) -> {
			RestClient client = relayingClient(context, (request, body, execution) -> {
				request.getHeaders().set("X-Api-Key", this.signedIn.get());
				return execution.execute(request, body);
			});
			this.signedIn.set("alice");
			assertThat(userinfo(client)).isEqualTo("{\"user\":\"alice\"}");
			server.stubFor(get(USERINFO).willReturn(serviceUnavailable()));
			this.signedIn.set("bob");
			assertThatExceptionOfType(HttpServerErrorException.class).isThrownBy(() -> userinfo(client));
			this.signedIn.set("alice");
			assertThat(userinfo(client)).isEqualTo("{\"user\":\"alice\"}");
		});
	}

	@Test
	void leavesTracingAndConfiguredCorrelationHeadersOutOfTheKey() {
		profileAnswersPerUser();
		this.runner.withPropertyValues("tis.resilience.stale-cache.headers-not-in-key=X-Tis-Trace").run((context) -> {
			RestClient client = relayingClient(context, (request, body, execution) -> {
				request.getHeaders().setBearerAuth(this.signedIn.get());
				request.getHeaders().set("traceparent", "00-" + UUID.randomUUID().toString().replace("-", "") + "-00f067aa0ba902b7-01");
				request.getHeaders().set("X-Request-Id", UUID.randomUUID().toString());
				request.getHeaders().set("X-Tis-Trace", UUID.randomUUID().toString());
				return execution.execute(request, body);
			});
			this.signedIn.set("alice");
			assertThat(userinfo(client)).isEqualTo("{\"user\":\"alice\"}");
			server.stubFor(get(USERINFO).willReturn(serviceUnavailable()));
			assertThat(userinfo(client)).isEqualTo("{\"user\":\"alice\"}");
		});
	}

	@Test
	void neverProbesThroughAMutatedClientsOwnFactoryWhileTheBreakerIsOpen() {
		profileAnswersPerUser();
		this.runner.run((context) -> {
			RestClient starters = relayingClient(context, tokenRelay());
			RestClient ownFactory = starters.mutate()
				.requestFactory(new org.springframework.http.client.SimpleClientHttpRequestFactory())
				.build();
			this.signedIn.set("alice");
			assertThat(userinfo(starters)).isEqualTo("{\"user\":\"alice\"}");
			context.getBean(ServiceGuardRegistry.class).guard("plain").circuitBreaker().transitionToForcedOpenState();
			server.resetRequests();
			assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(() -> userinfo(ownFactory))
				.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(ServiceUnavailableException.Reason.CIRCUIT_OPEN));
			server.verify(0, getRequestedFor(urlPathEqualTo(USERINFO)));
		});
	}

}
