package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.net.InetSocketAddress;
import java.net.Proxy;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.http.client.ClientHttpRequestFactoryBuilder;
import org.springframework.boot.http.client.JdkClientHttpRequestFactoryBuilder;
import org.springframework.boot.restclient.RestTemplateBuilder;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.client.BufferingClientHttpRequestFactory;
import org.springframework.http.client.ClientHttpRequestFactory;
import org.springframework.http.client.HttpComponentsClientHttpRequestFactory;
import org.springframework.http.client.JdkClientHttpRequestFactory;
import org.springframework.http.client.JettyClientHttpRequestFactory;
import org.springframework.http.client.ReactorClientHttpRequestFactory;
import org.springframework.http.client.SimpleClientHttpRequestFactory;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestTemplate;
import org.springframework.web.service.annotation.GetExchange;
import org.springframework.web.service.registry.ImportHttpServices;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;
import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.policy.ServiceGuard;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Client beans built by hand, as TIS's client libraries build them, against a service that answers
 * after 15 s with a 1 s deadline: each runs under the deadline, or startup (or its first call) names
 * it in one WARN line saying why it gets none — never a silent 15 s call.
 */
@ExtendWith(OutputCaptureExtension.class)
class HandBuiltClientsTests {

	@RegisterExtension
	static WireMockExtension server = LoopbackFixtures.loopbackServer();

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(LoopbackFixtures.protectedHttpClients())
		.withPropertyValues("tis.resilience.services.legacy.url=" + server.baseUrl() + "/legacy",
				"tis.resilience.services.legacy.response-timeout=1s", "tis.resilience.services.legacy.retry.max-attempts=1");

	private static void legacyAnswersAfter15Seconds() {
		server.stubFor(get("/legacy/api/people").willReturn(ok("late").withFixedDelay(15_000)));
	}

	private static String people(RestTemplate template) {
		return template.getForObject(server.baseUrl() + "/legacy/api/people", String.class);
	}

	@Test
	void givesTheDeadlineToAPlainRestTemplateWithAnInterceptorOfItsOwn() {
		legacyAnswersAfter15Seconds();
		this.runner.withBean("legacyTemplate", RestTemplate.class, () -> {
			RestTemplate template = new RestTemplate();
			template.getInterceptors().add((request, body, execution) -> {
				request.getHeaders().set("X-Correlation-Id", "c-1");
				return execution.execute(request, body);
			});
			return template;
		}).run((context) -> {
			RestTemplate template = context.getBean(RestTemplate.class);
			long started = System.nanoTime();
			assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(() -> people(template))
				.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.TIMEOUT));
			assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
			assertThat(template.getInterceptors()).hasSize(2);
		});
	}

	@Test
	void givesTheDeadlineToARestTemplateBufferingOverSpringsDefaultFactory() {
		legacyAnswersAfter15Seconds();
		this.runner
			.withBean("bufferedTemplate", RestTemplate.class,
					() -> new RestTemplate(new BufferingClientHttpRequestFactory(new SimpleClientHttpRequestFactory())))
			.run((context) -> {
				RestTemplate template = context.getBean(RestTemplate.class);
				long started = System.nanoTime();
				assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(() -> people(template))
					.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.TIMEOUT));
				assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
				server.stubFor(get("/legacy/api/people").willReturn(ok("people")));
				assertThat(people(template)).isEqualTo("people");
			});
	}

	static Stream<Arguments> requestFactoriesOfTheirOwn() {
		return Stream.of(Arguments.of("JdkClientHttpRequestFactory", (Supplier<ClientHttpRequestFactory>) JdkClientHttpRequestFactory::new),
				Arguments.of("HttpComponentsClientHttpRequestFactory",
						(Supplier<ClientHttpRequestFactory>) HttpComponentsClientHttpRequestFactory::new),
				Arguments.of("JettyClientHttpRequestFactory", (Supplier<ClientHttpRequestFactory>) JettyClientHttpRequestFactory::new),
				Arguments.of("ReactorClientHttpRequestFactory",
						(Supplier<ClientHttpRequestFactory>) ReactorClientHttpRequestFactory::new),
				Arguments.of("BufferingClientHttpRequestFactory", (Supplier<ClientHttpRequestFactory>) () -> {
					SimpleClientHttpRequestFactory simple = new SimpleClientHttpRequestFactory();
					simple.setReadTimeout(Duration.ofSeconds(30));
					return new BufferingClientHttpRequestFactory(simple);
				}));
	}

	@ParameterizedTest(name = "{0}")
	@MethodSource("requestFactoriesOfTheirOwn")
	void namesAtStartupARestTemplateBeanWhoseRequestFactoryGetsNoDeadline(String type,
			Supplier<ClientHttpRequestFactory> factory, CapturedOutput output) {
		this.runner.withBean("ownTemplate", RestTemplate.class, () -> new RestTemplate(factory.get())).run((context) -> {
			assertThat(context).hasNotFailed();
			assertThat(output).containsOnlyOnce("event=unprotected_egress")
				.contains("ownTemplate (RestTemplate: breaker, bulkhead and retries, but no deadline: its request "
						+ "factory is a " + type);
		});
	}

	@Test
	void startsWhenTheApplicationHasTwoRequestFactoriesAndNamesThePlainTemplateItCannotChooseFor(CapturedOutput output) {
		this.runner.withBean("first", ClientHttpRequestFactory.class, SimpleClientHttpRequestFactory::new)
			.withBean("second", ClientHttpRequestFactory.class, SimpleClientHttpRequestFactory::new)
			.withBean("plainTemplate", RestTemplate.class, RestTemplate::new)
			.run((context) -> {
				assertThat(context).hasNotFailed();
				assertThat(output).contains("plainTemplate (RestTemplate: breaker, bulkhead and retries, but no deadline");
			});
	}

	@ParameterizedTest(name = "{0}")
	@CsvSource({ "simple, client=simple bodies=all", "jdk, ", "http-components, client=http-components",
			"jetty, ", "reactor, client=reactor" })
	void namesAtStartupTheBodiesAChosenClientBoundsPerReadOnly(String factory, String named, CapturedOutput output) {
		// What the starter cannot cut at the deadline on the client the application chose (decision 0029).
		this.runner.withPropertyValues("spring.http.clients.imperative.factory=" + factory).run((context) -> {
			context.getBean(RestClient.Builder.class).build();
			if (named != null) {
				assertThat(output).containsOnlyOnce("event=deadline_per_read " + named);
			}
			else {
				assertThat(output).doesNotContain("event=deadline_per_read");
			}
		});
	}

	@Test
	void namesNoBodiesBoundedPerReadOnTheClientTheStarterChose(CapturedOutput output) {
		this.runner.run((context) -> {
			context.getBean(RestClient.Builder.class).build();
			assertThat(output).doesNotContain("event=deadline_per_read");
		});
	}

	@Test
	void namesAtItsFirstCallARestClientBuiltOnARequestFactoryOfItsOwn(CapturedOutput output) {
		server.stubFor(get("/legacy/api/people").willReturn(ok("people")));
		this.runner.run((context) -> {
			RestClient client = context.getBean(RestClient.Builder.class)
				.requestFactory(new SimpleClientHttpRequestFactory())
				.build();
			assertThat(client.get().uri(server.baseUrl() + "/legacy/api/people").retrieve().body(String.class))
				.isEqualTo("people");
			client.get().uri(server.baseUrl() + "/legacy/api/people").retrieve().body(String.class);
			assertThat(output).containsOnlyOnce("event=request_factory_not_wrapped service=legacy");
		});
	}

	@Test
	void keepsAndNamesASimpleFactoryTheApplicationSetUpWithAProxy(CapturedOutput output) {
		this.runner.withBean("proxiedTemplate", RestTemplate.class, () -> {
			SimpleClientHttpRequestFactory factory = new SimpleClientHttpRequestFactory();
			factory.setProxy(new Proxy(Proxy.Type.HTTP, new InetSocketAddress("127.0.0.1", server.getPort())));
			return new RestTemplate(factory);
		}).run((context) -> {
			assertThat(output).contains("proxiedTemplate (RestTemplate: breaker, bulkhead and retries, but no deadline: "
					+ "its request factory is a SimpleClientHttpRequestFactory");
			// Still through the proxy the application set: the request reaches it, named by its full URL.
			server.stubFor(get("/legacy/api/people").willReturn(ok("via the proxy")));
			assertThat(people(context.getBean(RestTemplate.class))).isEqualTo("via the proxy");
		});
	}

	@Test
	void namesAClientMutatedOntoARequestFactoryOfItsOwn(CapturedOutput output) {
		server.stubFor(get("/legacy/api/people").willReturn(ok("people")));
		this.runner.run((context) -> {
			RestClient good = context.getBean(RestClient.Builder.class).build();
			good.get().uri(server.baseUrl() + "/legacy/api/people").retrieve().body(String.class);
			assertThat(output).doesNotContain("event=request_factory_not_wrapped");
			RestClient own = good.mutate().requestFactory(new SimpleClientHttpRequestFactory()).build();
			own.get().uri(server.baseUrl() + "/legacy/api/people").retrieve().body(String.class);
			assertThat(output).containsOnlyOnce("event=request_factory_not_wrapped service=legacy");
		});
	}

	@Test
	void neverSendsAPostAgainThroughARequestFactoryOfItsOwnThatFollowedARedirectToARefusedConnection()
			throws java.io.IOException {
		String refused;
		try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
			refused = "http://127.0.0.1:" + socket.getLocalPort();
		}
		server.stubFor(com.github.tomakehurst.wiremock.client.WireMock.post("/legacy/api/orders")
			.willReturn(com.github.tomakehurst.wiremock.client.WireMock.aResponse().withStatus(307)
				.withHeader("Location", refused + "/api/orders")));
		this.runner.withPropertyValues("tis.resilience.services.legacy.retry.max-attempts=3").run((context) -> {
			// Apache HttpClient, built by the application, follows the redirect inside the call: the refusal reads
			// as a connect failure, but the first server had the POST.
			RestClient own = context.getBean(RestClient.Builder.class)
				.requestFactory(new org.springframework.http.client.HttpComponentsClientHttpRequestFactory())
				.build();
			assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(() -> own.post()
				.uri(server.baseUrl() + "/legacy/api/orders")
				.body("one order")
				.retrieve()
				.body(String.class));
			server.verify(1, com.github.tomakehurst.wiremock.client.WireMock
				.postRequestedFor(urlPathEqualTo("/legacy/api/orders")));
			// Nor does a guard around the call (Spring Cloud's CircuitBreakerFactory, @Resilient) send it again: the
			// exception says the request may have been sent.
			ServiceGuard outer = context.getBean(ServiceGuardRegistry.class).guard("orders-workflow");
			assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(() -> outer.execute(false,
					() -> own.post().uri(server.baseUrl() + "/legacy/api/orders").body("one order").retrieve()
						.body(String.class)));
			server.verify(2, com.github.tomakehurst.wiremock.client.WireMock
				.postRequestedFor(urlPathEqualTo("/legacy/api/orders")));
		});
	}

	@Test
	void keepsABufferingRestTemplatesCallsWholeItsResponsesRereadableAndItsPostsFailingOver(CapturedOutput output)
			throws java.io.IOException {
		server.stubFor(get("/legacy/api/people").willReturn(ok("people")));
		String refused;
		try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
			refused = "http://127.0.0.1:" + socket.getLocalPort();
		}
		String closed = refused;
		java.util.concurrent.atomic.AtomicInteger posts = new java.util.concurrent.atomic.AtomicInteger();
		this.runner.withPropertyValues("tis.resilience.services.closed.url=" + closed,
				"tis.resilience.services.closed.retry.max-attempts=3")
			.withBean("bufferedTemplate", RestTemplate.class, () -> {
				RestTemplate template = new RestTemplate(
						new BufferingClientHttpRequestFactory(new SimpleClientHttpRequestFactory()));
				// A logging interceptor reads each response, as buffering is there for.
				template.getInterceptors().add((request, body, execution) -> {
					if (request.getMethod() == org.springframework.http.HttpMethod.POST) {
						posts.incrementAndGet();
					}
					org.springframework.http.client.ClientHttpResponse response = execution.execute(request, body);
					org.springframework.util.StreamUtils.copyToByteArray(response.getBody());
					return response;
				});
				return template;
			})
			.run((context) -> {
				RestTemplate template = context.getBean(RestTemplate.class);
				assertThat(people(template)).isEqualTo("people");
				// The body can be read again, as on Spring's buffering factory.
				String twice = template.execute(server.baseUrl() + "/legacy/api/people",
						org.springframework.http.HttpMethod.GET, null, (response) -> {
							String first = org.springframework.util.StreamUtils.copyToString(response.getBody(),
									java.nio.charset.StandardCharsets.UTF_8);
							return first + "|" + org.springframework.util.StreamUtils.copyToString(response.getBody(),
									java.nio.charset.StandardCharsets.UTF_8);
						});
				assertThat(twice).isEqualTo("people|people");
				// A POST whose connection was refused is known never sent: it is tried again.
				assertThatExceptionOfType(ServiceUnavailableException.class)
					.isThrownBy(() -> template.postForObject(closed + "/api/orders", "one order", String.class))
					.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.CONNECT_FAILURE));
				assertThat(posts).hasValue(3);
				assertThat(output).doesNotContain("event=request_factory_not_wrapped");
			});
	}

	@Test
	void givesTheDeadlineWhenTheApplicationChoosesTheSimpleClient() {
		legacyAnswersAfter15Seconds();
		this.runner.withPropertyValues("spring.http.clients.imperative.factory=simple").run((context) -> {
			RestClient client = context.getBean(RestClient.Builder.class).build();
			long started = System.nanoTime();
			assertThatExceptionOfType(ServiceUnavailableException.class)
				.isThrownBy(() -> client.get().uri(server.baseUrl() + "/legacy/api/people").retrieve().body(String.class))
				.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.TIMEOUT));
			assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
		});
	}

	static Stream<Arguments> requestFactoryBuildersOfTheirOwn() {
		return Stream.of(Arguments.of("jdk", ClientHttpRequestFactoryBuilder.jdk()),
				Arguments.of("httpComponents", ClientHttpRequestFactoryBuilder.httpComponents()),
				Arguments.of("jetty", ClientHttpRequestFactoryBuilder.jetty()),
				Arguments.of("reactor", ClientHttpRequestFactoryBuilder.reactor()),
				Arguments.of("simple", ClientHttpRequestFactoryBuilder.simple()));
	}

	@Test
	void turnsAwayACallTheApplicationsConnectionPoolRefusesAsAFullBulkheadNotAsTheServiceFailing() throws Exception {
		String legacy = "http://127.0.0.1:" + server.getPort() + "/legacy";
		server.stubFor(get("/legacy/api/slow").willReturn(ok("slow").withFixedDelay(1000)));
		// One connection and one caller waiting for it: a third concurrent caller is turned away by the pool.
		ClientHttpRequestFactoryBuilder<?> onePool = ClientHttpRequestFactoryBuilder.reactor()
			.withHttpClientFactory(() -> reactor.netty.http.client.HttpClient
				.create(reactor.netty.resources.ConnectionProvider.builder("one").maxConnections(1).pendingAcquireMaxCount(1).build()));
		this.runner.withBean("onePoolRequestFactoryBuilder", ClientHttpRequestFactoryBuilder.class, () -> onePool)
			.withPropertyValues("tis.resilience.services.legacy.url=" + legacy,
					"tis.resilience.services.legacy.response-timeout=5s", "tis.resilience.services.legacy.retry.max-attempts=3")
			.run((context) -> {
				RestClient client = context.getBean(RestClient.Builder.class).build();
				java.util.concurrent.atomic.AtomicInteger served = new java.util.concurrent.atomic.AtomicInteger();
				java.util.concurrent.ExecutorService callers = java.util.concurrent.Executors.newFixedThreadPool(3);
				try {
					List<java.util.concurrent.Future<String>> calls = new java.util.ArrayList<>();
					for (int i = 0; i < 3; i++) {
						calls.add(callers.submit(() -> {
							try {
								return client.get().uri(legacy + "/api/slow").retrieve().body(String.class);
							}
							catch (ServiceUnavailableException ex) {
								return ex.reason().name();
							}
						}));
					}
					List<String> outcomes = new java.util.ArrayList<>();
					for (java.util.concurrent.Future<String> call : calls) {
						outcomes.add(call.get(30, java.util.concurrent.TimeUnit.SECONDS));
					}
					// The third is turned away, and so, at times, is the second (the pool counts the first caller as
					// waiting while it opens the connection).
					assertThat(outcomes).contains("slow", "BULKHEAD_FULL").containsOnly("slow", "BULKHEAD_FULL");
					served.set((int) outcomes.stream().filter("slow"::equals).count());
				}
				finally {
					callers.shutdownNow();
				}
				server.verify(served.get(), getRequestedFor(urlPathEqualTo("/legacy/api/slow")));
				ServiceGuard guard = context.getBean(ServiceGuardRegistry.class).guard("legacy");
				assertThat(guard.circuitBreaker().getMetrics().getNumberOfFailedCalls()).isZero();
				assertThat(guard.bulkhead().getMetrics().getAvailableConcurrentCalls()).isEqualTo(25);
			});
	}

	// Boot applies its customizers, the starter's among them, only to the builder it creates itself.
	@ParameterizedTest(name = "{0}")
	@MethodSource("requestFactoryBuildersOfTheirOwn")
	void givesTheDeadlineToBootsBuildersOverARequestFactoryBuilderBeanOfTheApplications(String name,
			ClientHttpRequestFactoryBuilder<?> builder, CapturedOutput output) {
		legacyAnswersAfter15Seconds();
		this.runner.withBean("ownRequestFactoryBuilder", ClientHttpRequestFactoryBuilder.class, () -> builder)
			.run((context) -> {
				RestClient client = context.getBean(RestClient.Builder.class).build();
				RestTemplate template = context.getBean(RestTemplateBuilder.class).build();
				long started = System.nanoTime();
				assertThatExceptionOfType(ServiceUnavailableException.class)
					.isThrownBy(() -> client.get().uri(server.baseUrl() + "/legacy/api/people").retrieve().body(String.class))
					.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.TIMEOUT));
				assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(() -> people(template))
					.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.TIMEOUT));
				assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(8));
				assertThat(output).doesNotContain("event=request_factory_not_wrapped");
			});
	}

	@Configuration(proxyBeanMethods = false)
	static class JdkBuilderBeanInjectedByItsType {

		@Bean
		JdkClientHttpRequestFactoryBuilder jdkBuilder() {
			return ClientHttpRequestFactoryBuilder.jdk();
		}

		@Bean
		String somethingUsingTheBuilder(JdkClientHttpRequestFactoryBuilder builder) {
			return builder.getClass().getName();
		}

	}

	// Replacing a bean declared as its own type would break whatever injects it as that type.
	@Test
	void keepsAndNamesAtStartupABuilderBeanDeclaredAsItsOwnType(CapturedOutput output) {
		this.runner.withUserConfiguration(JdkBuilderBeanInjectedByItsType.class).run((context) -> {
			assertThat(context).hasNotFailed();
			assertThat(context.getBean(ClientHttpRequestFactoryBuilder.class))
				.isInstanceOf(JdkClientHttpRequestFactoryBuilder.class);
			assertThat(output).containsOnlyOnce("event=unprotected_egress")
				.contains("jdkBuilder (JdkClientHttpRequestFactoryBuilder bean: clients from Boot's builders get breaker, "
						+ "bulkhead and retries, but no deadline");
		});
	}

	@Test
	void leavesARequestFactoryBuilderBeanAloneWhenTheStarterIsSwitchedOff() {
		this.runner.withPropertyValues("tis.resilience.enabled=false")
			.withBean("ownRequestFactoryBuilder", ClientHttpRequestFactoryBuilder.class, ClientHttpRequestFactoryBuilder::jdk)
			.run((context) -> assertThat(context.getBean(ClientHttpRequestFactoryBuilder.class))
				.isNotInstanceOf(ServiceClientHttpRequestFactoryBuilder.class));
	}

	interface LegacyApi {

		@GetExchange("/legacy/api/people")
		String people();

	}

	@Configuration(proxyBeanMethods = false)
	@ImportHttpServices(group = "legacy", types = LegacyApi.class)
	static class LegacyGroup {

	}

	@Test
	void givesTheDeadlineToAnHttpServiceGroupOverTheApplicationsRequestFactoryBuilder() {
		legacyAnswersAfter15Seconds();
		this.runner.withUserConfiguration(LegacyGroup.class)
			.withPropertyValues("spring.http.serviceclient.legacy.base-url=" + server.baseUrl())
			.withBean("ownRequestFactoryBuilder", ClientHttpRequestFactoryBuilder.class, ClientHttpRequestFactoryBuilder::jdk)
			.run((context) -> {
				LegacyApi api = context.getBean(LegacyApi.class);
				long started = System.nanoTime();
				assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(api::people)
					.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.TIMEOUT));
				assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
			});
	}

}
