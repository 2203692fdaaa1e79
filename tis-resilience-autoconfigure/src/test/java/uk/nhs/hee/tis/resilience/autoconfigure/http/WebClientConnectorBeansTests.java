package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

import org.springframework.beans.factory.FactoryBean;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.http.client.autoconfigure.reactive.ReactiveHttpClientAutoConfiguration;
import org.springframework.boot.http.client.reactive.ClientHttpConnectorBuilder;
import org.springframework.boot.http.client.reactive.ReactorClientHttpConnectorBuilder;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.webclient.autoconfigure.WebClientAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.client.reactive.ClientHttpConnector;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.web.reactive.function.client.WebClient;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;
import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.autoconfigure.UnansweredPort;
import uk.nhs.hee.tis.resilience.policy.ServiceGuard;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.serviceUnavailable;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * An application's own connector, or connector builder, bean for WebClient: Boot applies its customizers (the
 * starter's among them) to its own builder only, so the starter wraps such a bean instead, and a WebClient
 * from Boot's builder keeps each service's connect-timeout and stale-if-error copies. A bean declared as its
 * own concrete type is left as it is, and named at startup.
 */
@ExtendWith(OutputCaptureExtension.class)
class WebClientConnectorBeansTests {

	@RegisterExtension
	static WireMockExtension server = LoopbackFixtures.loopbackServer();

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(TisResilienceAutoConfiguration.class,
				ReactiveHttpClientAutoConfiguration.class, WebClientAutoConfiguration.class,
				ReactiveHttpClientResilienceAutoConfiguration.class))
		.withPropertyValues("tis.resilience.services.profile.retry.max-attempts=1",
				"tis.resilience.services.profile.connect-timeout=300ms",
				"tis.resilience.services.profile.response-timeout=8s");

	static Stream<Arguments> beans() {
		return Stream.of(Arguments.of("a ClientHttpConnectorBuilder bean", (Customizer) (runner) -> runner
			.withBean("ownConnectorBuilder", ClientHttpConnectorBuilder.class, () -> ClientHttpConnectorBuilder.reactor())),
				Arguments.of("a ClientHttpConnector bean", (Customizer) (runner) -> runner.withBean("ownConnector",
						ClientHttpConnector.class, () -> new ReactorClientHttpConnector())),
				Arguments.of("a FactoryBean of ClientHttpConnector",
						(Customizer) (runner) -> runner.withUserConfiguration(ConnectorFactoryBean.class)));
	}

	@Configuration(proxyBeanMethods = false)
	static class ConnectorFactoryBean {

		@Bean
		FactoryBean<ClientHttpConnector> ownConnector() {
			return new FactoryBean<>() {

				@Override
				public ClientHttpConnector getObject() {
					return new ReactorClientHttpConnector();
				}

				@Override
				public Class<?> getObjectType() {
					return ClientHttpConnector.class;
				}

			};
		}

	}

	interface Customizer {

		ApplicationContextRunner apply(ApplicationContextRunner runner);

	}

	/** The server by address: a connector of the application's own resolves {@code localhost} as it likes. */
	private static String loopback() {
		return "http://127.0.0.1:" + server.getPort();
	}

	private static String call(WebClient client, String url) {
		return client.get().uri(url).retrieve().bodyToMono(String.class).block(Duration.ofSeconds(30));
	}

	@ParameterizedTest(name = "{0}")
	@MethodSource("beans")
	void keepsTheServicesConnectTimeoutOverTheApplicationsOwn(String name, Customizer bean) throws IOException {
		try (UnansweredPort cutOff = new UnansweredPort()) {
			bean.apply(this.runner).withPropertyValues("tis.resilience.services.profile.url=" + cutOff.url()).run((context) -> {
				WebClient client = context.getBean(WebClient.Builder.class).build();
				long start = System.nanoTime();
				assertThatThrownBy(() -> call(client, cutOff.url() + "/api/userinfo"))
					.isInstanceOfSatisfying(ServiceUnavailableException.class,
							(ex) -> assertThat(ex.reason()).isEqualTo(Reason.CONNECT_FAILURE))
					.hasStackTraceContaining("within the service's connect-timeout (300 ms)");
				// The connector's own connect timeout is Boot's 30 s, and the response-timeout 8 s.
				assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(4));
			});
		}
	}

	@ParameterizedTest(name = "{0}")
	@MethodSource("beans")
	void keepsStaleCopiesOverTheApplicationsOwn(String name, Customizer bean, CapturedOutput output) {
		server.stubFor(get("/profile/api/userinfo").willReturn(ok("alice's userinfo")));
		bean.apply(this.runner)
			.withPropertyValues("tis.resilience.services.profile.url=" + server.baseUrl() + "/profile",
					"tis.resilience.services.profile.stale-if-error=1m")
			.run((context) -> {
				WebClient client = context.getBean(WebClient.Builder.class).build();
				assertThat(call(client, server.baseUrl() + "/profile/api/userinfo")).isEqualTo("alice's userinfo");
				server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
				assertThat(call(client, server.baseUrl() + "/profile/api/userinfo")).isEqualTo("alice's userinfo");
				server.verify(2, getRequestedFor(urlPathEqualTo("/profile/api/userinfo")));
				assertThat(output).doesNotContain("event=stale_if_error_not_kept");
			});
	}

	@Configuration(proxyBeanMethods = false)
	static class ConcreteBeans {

		@Bean
		ReactorClientHttpConnectorBuilder ownConnectorBuilder() {
			return ClientHttpConnectorBuilder.reactor();
		}

		@Bean
		ReactorClientHttpConnector ownConnector() {
			return new ReactorClientHttpConnector();
		}

	}

	@Test
	void keepsAndNamesAtStartupBeansDeclaredAsTheirOwnType(CapturedOutput output) {
		this.runner.withUserConfiguration(ConcreteBeans.class).run((context) -> {
			assertThat(context).hasNotFailed();
			assertThat(context.getBean(ReactorClientHttpConnector.class)).isNotNull();
			assertThat(context.getBean(ReactorClientHttpConnectorBuilder.class)).isNotNull();
			assertThat(output).contains("event=unprotected_egress")
				.contains("ownConnector (ReactorClientHttpConnector bean: WebClients on it get breaker, bulkhead, "
						+ "retries and deadline, but no per-service connect-timeout")
				.contains("ownConnectorBuilder (ReactorClientHttpConnectorBuilder bean:");
		});
	}

	@Test
	void namesAtItsFirstAnswerAWebClientOnAConnectorOfItsOwnOnce(CapturedOutput output) {
		server.stubFor(get("/profile/api/plain").willReturn(ok("fine")));
		this.runner.withPropertyValues("tis.resilience.services.profile.url=" + loopback() + "/profile")
			.run((context) -> {
				WebClient boots = context.getBean(WebClient.Builder.class).build();
				assertThat(call(boots, loopback() + "/profile/api/plain")).isEqualTo("fine");
				assertThat(output).doesNotContain("event=connect_timeout_not_kept");
				WebClient own = context.getBean(WebClient.Builder.class)
					.clientConnector(new ReactorClientHttpConnector())
					.build();
				assertThat(call(own, loopback() + "/profile/api/plain")).isEqualTo("fine");
				assertThat(call(own, loopback() + "/profile/api/plain")).isEqualTo("fine");
				assertThat(output.getAll().split("event=connect_timeout_not_kept service=profile client=WebClient", -1))
					.hasSize(2);
			});
	}

	@Configuration(proxyBeanMethods = false)
	static class TypedBuilder {

		@Bean
		ClientHttpConnectorBuilder<ReactorClientHttpConnector> typedConnectorBuilder() {
			return ClientHttpConnectorBuilder.reactor();
		}

	}

	@Test
	void keepsAndNamesABuilderDeclaredWithAConnectorTypeOfItsOwn(CapturedOutput output) {
		this.runner.withUserConfiguration(TypedBuilder.class).run((context) -> {
			assertThat(context).hasNotFailed();
			// Injected as declared, it must still build the connector type it says it builds.
			assertThat(context.getBean("typedConnectorBuilder")).isInstanceOf(ReactorClientHttpConnectorBuilder.class);
			assertThat(output).contains("typedConnectorBuilder (ClientHttpConnectorBuilder<ReactorClientHttpConnector> bean:")
				.contains("declare the bean as ClientHttpConnectorBuilder<?>");
		});
	}

	@Test
	void namesOnceAConnectorThatCannotKeepTheConnectTimeout(CapturedOutput output) {
		this.runner.withPropertyValues("spring.http.clients.reactive.connector=jdk").run((context) -> {
			context.getBean(WebClient.Builder.class).build();
			context.getBean(WebClient.Builder.class).build();
			assertThat(output.getAll().split("event=connect_timeout_not_kept client=WebClient connector=JdkClientHttpConnector",
					-1)).hasSize(2);
		});
	}

	@Test
	void stillReadsARefusedConnectionAsNeverSentOnAConnectorThatSendsAsItConnects() throws IOException {
		String refused;
		try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
			refused = "http://127.0.0.1:" + socket.getLocalPort();
		}
		this.runner.withPropertyValues("spring.http.clients.reactive.connector=jdk",
				"tis.resilience.services.profile.url=" + refused).run((context) -> {
					WebClient client = context.getBean(WebClient.Builder.class).build();
					// The JDK's connector is handed the request before it connects: a refusal is still the first hop's.
					assertThatThrownBy(() -> client.post().uri(refused + "/api/orders").bodyValue("x").retrieve()
						.bodyToMono(String.class).block(Duration.ofSeconds(30)))
						.isInstanceOfSatisfying(ServiceUnavailableException.class,
								(ex) -> assertThat(ex.reason()).isEqualTo(Reason.CONNECT_FAILURE));
				});
	}

	@Test
	void neverSendsAPostAgainWhoseRedirectLedToARefusedConnectionOnAConnectorThatSendsAsItConnects() throws IOException {
		String refused;
		try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
			refused = "http://127.0.0.1:" + socket.getLocalPort();
		}
		server.stubFor(post("/profile/api/orders").willReturn(aResponse().withStatus(307)
			.withHeader("Location", refused + "/api/orders")));
		this.runner.withPropertyValues("spring.http.clients.reactive.connector=jdk",
				"tis.resilience.services.profile.url=" + loopback() + "/profile",
				"tis.resilience.services.profile.retry.max-attempts=3").run((context) -> {
					WebClient client = context.getBean(WebClient.Builder.class).build();
					// The JDK's connector is handed the request before it connects, and follows the redirect itself:
					// the refusal cannot be told from the first server's, so the POST is not sent again.
					assertThatThrownBy(() -> client.post().uri(loopback() + "/profile/api/orders").bodyValue("one order")
						.retrieve().bodyToMono(String.class).block(Duration.ofSeconds(30)))
						.isInstanceOf(ServiceUnavailableException.class);
					server.verify(1, postRequestedFor(urlPathEqualTo("/profile/api/orders")));
				});
	}

	@Test
	void saysNothingOfReactorNettysConnectorWhichKeepsIt(CapturedOutput output) {
		this.runner.run((context) -> {
			assertThat(context.getBean(ClientHttpConnector.class)).isInstanceOf(WireRecordingConnector.class);
			assertThat(output).doesNotContain("event=connect_timeout_not_kept");
		});
	}

	@Configuration(proxyBeanMethods = false)
	static class OneConnectionPool {

		/** One connection, one caller waiting for it: a third concurrent caller is turned away by the pool. */
		@Bean
		ClientHttpConnectorBuilder<?> smallPoolConnectorBuilder() {
			return ClientHttpConnectorBuilder.reactor()
				.withHttpClientFactory(() -> HttpClient.create(ConnectionProvider.builder("one")
					.maxConnections(1)
					.pendingAcquireMaxCount(1)
					.build()));
		}

	}

	@Test
	void turnsAwayACallTheApplicationsPoolRefusesAsAFullBulkheadNotAsTheServiceFailing() {
		server.stubFor(get("/profile/api/slow").willReturn(ok("slow").withFixedDelay(1000)));
		this.runner.withUserConfiguration(OneConnectionPool.class)
			.withPropertyValues("tis.resilience.services.profile.url=" + loopback() + "/profile",
					"tis.resilience.services.profile.connect-timeout=5s", "tis.resilience.services.profile.retry.max-attempts=3")
			.run((context) -> {
				WebClient client = context.getBean(WebClient.Builder.class).build();
				List<String> outcomes = Flux.range(0, 3)
					.flatMap((i) -> client.get().uri(loopback() + "/profile/api/slow").retrieve().bodyToMono(String.class)
						.onErrorResume(ServiceUnavailableException.class, (ex) -> Mono.just(ex.reason().name())))
					.collectList()
					.block(Duration.ofSeconds(30));
				// One connection and one caller waiting for it: the third is turned away, and so, at times, is the
				// second (the pool counts the first caller as waiting while it opens the connection).
				assertThat(outcomes).contains("slow", "BULKHEAD_FULL").containsOnly("slow", "BULKHEAD_FULL");
				int served = (int) outcomes.stream().filter("slow"::equals).count();
				server.verify(served, getRequestedFor(urlPathEqualTo("/profile/api/slow")));
				ServiceGuard profile = context.getBean(ServiceGuardRegistry.class).guard("profile");
				assertThat(profile.circuitBreaker().getMetrics().getNumberOfFailedCalls()).isZero();
				assertThat(profile.bulkhead().getMetrics().getAvailableConcurrentCalls()).isEqualTo(25);
			});
	}

	@Test
	void leavesTheApplicationsBeansAloneWhenTheStarterIsSwitchedOff() {
		this.runner.withPropertyValues("tis.resilience.enabled=false")
			.withBean("ownConnector", ClientHttpConnector.class, () -> new ReactorClientHttpConnector())
			.run((context) -> assertThat(context.getBean(ClientHttpConnector.class))
				.isExactlyInstanceOf(ReactorClientHttpConnector.class));
	}

}
