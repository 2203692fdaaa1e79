package uk.nhs.hee.tis.resilience.autoconfigure;

import java.time.Duration;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.web.client.RestClient;

import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.serviceUnavailable;
import static com.github.tomakehurst.wiremock.client.WireMock.unauthorized;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * An open breaker with a probe path learns that its service answers again within about one probe interval,
 * instead of waiting out its whole wait; without one it waits, as before.
 */
class OpenBreakerProbesTests {

	@RegisterExtension
	static WireMockExtension server = LoopbackFixtures.loopbackServer();

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(LoopbackFixtures.protectedHttpClients())
		.withPropertyValues("tis.resilience.services.profile.url=" + server.baseUrl() + "/profile",
				"tis.resilience.services.profile.retry.max-attempts=1",
				"tis.resilience.services.profile.circuit-breaker.wait-duration-in-open-state=60s",
				"tis.resilience.services.profile.circuit-breaker.minimum-number-of-calls=4",
				"tis.resilience.services.profile.circuit-breaker.sliding-window-size=4");

	private static CircuitBreaker openBreaker(AssertableApplicationContext context, String path) {
		RestClient client = context.getBean(RestClient.Builder.class).build();
		for (int i = 0; i < 4; i++) {
			try {
				client.get().uri(server.baseUrl() + "/profile" + path).retrieve().toBodilessEntity();
			}
			catch (RuntimeException ex) {
				// 503: counted by the breaker.
			}
		}
		CircuitBreaker breaker = context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker();
		assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.OPEN);
		return breaker;
	}

	@Test
	void turnsTheBreakerHalfOpenWithinAboutOneProbeIntervalOfTheServiceAnsweringAgain() {
		server.stubFor(get("/profile/api/probed").willReturn(serviceUnavailable()));
		server.stubFor(get("/profile/health").willReturn(serviceUnavailable()));
		this.runner.withPropertyValues("tis.resilience.services.profile.circuit-breaker.probe-path=/health",
				"tis.resilience.services.profile.circuit-breaker.probe-interval=200ms").run((context) -> {
					CircuitBreaker breaker = openBreaker(context, "/api/probed");
					// While the service still fails, the probe keeps asking and the breaker stays open.
					await().atMost(Duration.ofSeconds(5))
						.until(() -> server.countRequestsMatching(getRequestedFor(urlPathEqualTo("/profile/health")).build())
							.getCount() >= 3);
					assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.OPEN);
					// Any answer that is not a failure means the service is back: here, a 401.
					server.stubFor(get("/profile/health").willReturn(unauthorized()));
					long healed = System.nanoTime();
					await().atMost(Duration.ofSeconds(5))
						.until(() -> breaker.getState() == CircuitBreaker.State.HALF_OPEN);
					assertThat(Duration.ofNanos(System.nanoTime() - healed)).isLessThan(Duration.ofSeconds(1));
					// The probes were not calls: the breaker's window holds only the trial calls to come.
					assertThat(breaker.getMetrics().getNumberOfBufferedCalls()).isZero();
				});
	}

	@Test
	void waitsTheWholeWaitWithoutAProbePath() {
		server.stubFor(get("/profile/api/unprobed").willReturn(serviceUnavailable()));
		server.stubFor(get("/profile/health-unasked").willReturn(ok()));
		this.runner.run((context) -> {
			CircuitBreaker breaker = openBreaker(context, "/api/unprobed");
			await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(2))
				.until(() -> breaker.getState() == CircuitBreaker.State.OPEN);
			server.verify(0, getRequestedFor(urlPathEqualTo("/profile/health-unasked")));
		});
	}

}
