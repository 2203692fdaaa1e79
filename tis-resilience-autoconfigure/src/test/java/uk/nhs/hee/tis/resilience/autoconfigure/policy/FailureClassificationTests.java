package uk.nhs.hee.tis.resilience.autoconfigure.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcTemplateAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.cloud.client.circuitbreaker.CircuitBreakerFactory;
import org.springframework.dao.QueryTimeoutException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.web.client.RestClient;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;
import uk.nhs.hee.tis.resilience.annotation.Resilient;
import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.autoconfigure.fallback.FallbackAutoConfiguration;
import uk.nhs.hee.tis.resilience.policy.FailureClassifier;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.serviceUnavailable;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.stubbing.Scenario.STARTED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Failures that are not HTTP count against their service: a real H2 query cut by its 1 s query timeout,
 * through {@code @Resilient} and through Spring Cloud's {@code CircuitBreakerFactory}; an application's own
 * {@link FailureClassifier} bean. And one logical call enters its service's guard once, however it nests.
 */
class FailureClassificationTests {

	@RegisterExtension
	static WireMockExtension server = LoopbackFixtures.loopbackServer(
			com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig().containerThreads(20));

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(LoopbackFixtures.protectedHttpClients(FallbackAutoConfiguration.class,
				SpringCloudCircuitBreakerAutoConfiguration.class, DataSourceAutoConfiguration.class,
				JdbcTemplateAutoConfiguration.class))
		.withUserConfiguration(Reports.class)
		.withPropertyValues("spring.datasource.url=jdbc:h2:mem:reports;DB_CLOSE_DELAY=-1",
				"tis.resilience.services.reports-db.response-timeout=5s",
				"tis.resilience.services.reports-db.circuit-breaker.sliding-window-size=4",
				"tis.resilience.services.reports-db.circuit-breaker.minimum-number-of-calls=4",
				"tis.resilience.services.reports-db.circuit-breaker.slow-call-duration-threshold=500ms",
				"tis.resilience.services.svc.url=" + server.baseUrl() + "/svc",
				"tis.resilience.services.svc.retry.max-attempts=1",
				"tis.resilience.services.svc.circuit-breaker.minimum-number-of-calls=100",
				"tis.resilience.services.svc.circuit-breaker.sliding-window-size=100");

	private static CircuitBreaker breaker(org.springframework.context.ApplicationContext context, String service) {
		return context.getBean(ServiceGuardRegistry.class).guard(service).circuitBreaker();
	}

	@Test
	void countsAQueryCutByItsTimeoutAgainstTheDatabaseAndOpensItsBreaker() {
		this.runner.run((context) -> {
			Reports reports = context.getBean(Reports.class);
			for (int i = 0; i < 4; i++) {
				assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(reports::slowReport)
					.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.TIMEOUT))
					.withCauseInstanceOf(QueryTimeoutException.class);
			}
			assertThat(breaker(context, "reports-db").getState()).isEqualTo(CircuitBreaker.State.OPEN);
			assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(reports::slowReport)
				.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.CIRCUIT_OPEN));
		});
	}

	@Test
	void countsTheSameQueryRunThroughCircuitBreakerFactory() {
		this.runner.run((context) -> {
			CircuitBreakerFactory<?, ?> factory = context.getBean(CircuitBreakerFactory.class);
			JdbcTemplate jdbc = context.getBean(Reports.class).timingOut();
			for (int i = 0; i < 4; i++) {
				String answer = factory.create("reports-db")
					.run(() -> jdbc.queryForObject("select cast(sum(a.x * b.x) as varchar) from system_range(1, 100000) a, system_range(1, 100000) b", String.class),
							(ex) -> (ex instanceof ServiceUnavailableException unavailable) ? unavailable.reason().name()
									: ex.getClass().getSimpleName());
				assertThat(answer).isEqualTo("TIMEOUT");
			}
			assertThat(breaker(context, "reports-db").getMetrics().getNumberOfFailedCalls()).isEqualTo(4);
		});
	}

	@Test
	void countsACallThatFailedForAReasonOfTheCallersAsCompletedSoItsSlownessCounts() {
		this.runner.run((context) -> {
			JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
			CircuitBreakerFactory<?, ?> factory = context.getBean(CircuitBreakerFactory.class);
			assertThatExceptionOfType(RuntimeException.class).isThrownBy(() -> factory.create("reports-db")
				.run(() -> jdbc.queryForObject("select case when sleep_ms(700) is null then 1 / (x - x) end from system_range(1, 1)", String.class)))
				.isInstanceOf(org.springframework.dao.DataIntegrityViolationException.class);
			CircuitBreaker.Metrics metrics = breaker(context, "reports-db").getMetrics();
			assertThat(metrics.getNumberOfBufferedCalls()).isEqualTo(1);
			assertThat(metrics.getNumberOfFailedCalls()).isZero();
			assertThat(metrics.getNumberOfSlowCalls()).isEqualTo(1);
		});
	}

	@Test
	void asksTheApplicationsClassifierFirst() {
		this.runner.withBean(FailureClassifier.class,
				() -> (failure) -> (failure instanceof IllegalStateException) ? Reason.SERVER_ERROR : null)
			.run((context) -> {
				CircuitBreakerFactory<?, ?> factory = context.getBean(CircuitBreakerFactory.class);
				factory.create("reports-db").run(() -> {
					throw new IllegalStateException("the SDK's own way of saying it is down");
				}, (ex) -> "fallback");
				assertThat(breaker(context, "reports-db").getMetrics().getNumberOfFailedCalls()).isEqualTo(1);
			});
	}

	@Test
	void entersTheGuardOnceForAProtectedCallNestedInTheFactorysRunForTheSameService() throws Exception {
		server.stubFor(get("/svc/slow").willReturn(ok("slow").withFixedDelay(500)));
		this.runner.withPropertyValues("tis.resilience.services.svc.bulkhead.max-concurrent-calls=4").run((context) -> {
			CircuitBreakerFactory<?, ?> factory = context.getBean(CircuitBreakerFactory.class);
			RestClient client = context.getBean(RestClient.Builder.class).baseUrl(server.baseUrl() + "/svc").build();
			ExecutorService callers = Executors.newFixedThreadPool(4);
			CountDownLatch start = new CountDownLatch(1);
			try {
				List<Future<String>> answers = new ArrayList<>();
				for (int i = 0; i < 4; i++) {
					answers.add(callers.submit(() -> {
						start.await();
						return factory.create("svc")
							.run(() -> client.get().uri("/slow").retrieve().body(String.class),
									(ex) -> (ex instanceof ServiceUnavailableException unavailable)
											? unavailable.reason().name() : ex.getClass().getSimpleName());
					}));
				}
				start.countDown();
				for (Future<String> answer : answers) {
					assertThat(answer.get(10, TimeUnit.SECONDS)).isEqualTo("slow");
				}
			}
			finally {
				callers.shutdownNow();
			}
			assertThat(breaker(context, "svc").getMetrics().getNumberOfSuccessfulCalls()).isEqualTo(4);
		});
	}

	@Test
	void countsEachNestedCallOnceSoHalfFailingIsFiftyPercent() {
		server.stubFor(get("/svc/half").inScenario("half").whenScenarioStateIs(STARTED)
			.willReturn(serviceUnavailable()).willSetStateTo("ok"));
		server.stubFor(get("/svc/half").inScenario("half").whenScenarioStateIs("ok")
			.willReturn(ok("fine")).willSetStateTo(STARTED));
		this.runner.run((context) -> {
			CircuitBreakerFactory<?, ?> factory = context.getBean(CircuitBreakerFactory.class);
			RestClient client = context.getBean(RestClient.Builder.class).baseUrl(server.baseUrl() + "/svc").build();
			for (int i = 0; i < 10; i++) {
				factory.create("svc").run(() -> client.get().uri("/half").retrieve().body(String.class), (ex) -> "failed");
			}
			CircuitBreaker.Metrics metrics = breaker(context, "svc").getMetrics();
			assertThat(metrics.getNumberOfBufferedCalls()).isEqualTo(10);
			assertThat(metrics.getFailureRate()).isEqualTo(-1.0f); // under minimum-number-of-calls
			assertThat(metrics.getNumberOfFailedCalls()).isEqualTo(5);
			server.verify(10, com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor(urlPathEqualTo("/svc/half")));
		});
	}

	@Test
	void countsAFailureResponseANestedCallHandedOverWithoutThrowing() {
		server.stubFor(get("/svc/down").willReturn(serviceUnavailable()));
		this.runner.run((context) -> {
			CircuitBreakerFactory<?, ?> factory = context.getBean(CircuitBreakerFactory.class);
			RestClient client = context.getBean(RestClient.Builder.class).baseUrl(server.baseUrl() + "/svc").build();
			for (int i = 0; i < 5; i++) {
				int status = factory.create("svc")
					.run(() -> client.get().uri("/down").exchange((request, response) -> response.getStatusCode().value()));
				assertThat(status).isEqualTo(503);
			}
			CircuitBreaker.Metrics metrics = breaker(context, "svc").getMetrics();
			assertThat(metrics.getNumberOfFailedCalls()).isEqualTo(5);
			assertThat(metrics.getNumberOfBufferedCalls()).isEqualTo(5);
		});
	}

	@Test
	void keepsRetryingAGetNestedInTheFactorysRun() {
		server.stubFor(get("/svc/flaky").inScenario("flaky").whenScenarioStateIs(STARTED)
			.willReturn(serviceUnavailable()).willSetStateTo("ok"));
		server.stubFor(get("/svc/flaky").inScenario("flaky").whenScenarioStateIs("ok").willReturn(ok("fine")));
		this.runner.withPropertyValues("tis.resilience.services.svc.retry.max-attempts=2",
				"tis.resilience.services.svc.retry.initial-backoff=10ms").run((context) -> {
					CircuitBreakerFactory<?, ?> factory = context.getBean(CircuitBreakerFactory.class);
					RestClient client = context.getBean(RestClient.Builder.class).baseUrl(server.baseUrl() + "/svc").build();
					assertThat(factory.create("svc").run(() -> client.get().uri("/flaky").retrieve().body(String.class),
							(ex) -> "fallback")).isEqualTo("fine");
					server.verify(2, com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor(urlPathEqualTo("/svc/flaky")));
					assertThat(breaker(context, "svc").getMetrics().getNumberOfSuccessfulCalls()).isEqualTo(1);
				});
	}

	@Test
	void neverCountsAnotherServicesRejectionAgainstTheOuterService() {
		server.stubFor(get("/svc/any").willReturn(ok("any")));
		this.runner.run((context) -> {
			CircuitBreakerFactory<?, ?> factory = context.getBean(CircuitBreakerFactory.class);
			RestClient client = context.getBean(RestClient.Builder.class).baseUrl(server.baseUrl() + "/svc").build();
			breaker(context, "svc").transitionToForcedOpenState();
			for (int i = 0; i < 3; i++) {
				assertThat(factory.create("reports-db")
					.run(() -> client.get().uri("/any").retrieve().body(String.class),
							(ex) -> ((ServiceUnavailableException) ex).reason().name())).isEqualTo("CIRCUIT_OPEN");
			}
			CircuitBreaker.Metrics outer = breaker(context, "reports-db").getMetrics();
			assertThat(outer.getNumberOfBufferedCalls()).isZero();
			assertThat(context.getBean(ServiceGuardRegistry.class).guard("reports-db").bulkhead().getMetrics()
				.getAvailableConcurrentCalls()).isEqualTo(25);
		});
	}

	static class Reports {

		private final JdbcTemplate timingOut;

		Reports(javax.sql.DataSource dataSource) {
			JdbcTemplate jdbc = new JdbcTemplate(dataSource);
			jdbc.execute("create alias if not exists sleep_ms for 'java.lang.Thread.sleep(long)'");
			jdbc.setQueryTimeout(1);
			this.timingOut = jdbc;
		}

		JdbcTemplate timingOut() {
			return this.timingOut;
		}

		@Resilient(service = "reports-db")
		public String slowReport() {
			return this.timingOut.queryForObject("select cast(sum(a.x * b.x) as varchar) from system_range(1, 100000) a, system_range(1, 100000) b", String.class);
		}

	}

}
