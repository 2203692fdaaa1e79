package uk.nhs.hee.tis.resilience.autoconfigure.fallback;

import java.time.Duration;
import java.util.List;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.http.client.autoconfigure.reactive.ReactiveHttpClientAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.webclient.autoconfigure.WebClientAutoConfiguration;
import org.springframework.boot.webclient.autoconfigure.service.ReactiveHttpServiceClientAutoConfiguration;
import org.springframework.boot.http.client.autoconfigure.service.HttpServiceClientPropertiesAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.web.reactive.function.client.WebClient;
import org.springframework.web.service.annotation.GetExchange;
import org.springframework.web.service.registry.HttpServiceGroup;
import org.springframework.web.service.registry.ImportHttpServices;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.annotation.Fallback;
import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.autoconfigure.http.ReactiveHttpClientResilienceAutoConfiguration;

import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code @Fallback} on methods that return {@code Mono} or {@code Flux}, and on an HTTP interface on
 * WebClient: the fallback answers on the failure signal of a protected WebClient call to a real server
 * on loopback that hangs past the deadline.
 */
class ReactiveFallbackTests {

	@RegisterExtension
	static WireMockExtension server = LoopbackFixtures.loopbackServer();

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(TisResilienceAutoConfiguration.class,
				ReactiveHttpClientAutoConfiguration.class, WebClientAutoConfiguration.class,
				HttpServiceClientPropertiesAutoConfiguration.class, ReactiveHttpServiceClientAutoConfiguration.class,
				ReactiveHttpClientResilienceAutoConfiguration.class, FallbackAutoConfiguration.class))
		.withUserConfiguration(Clients.class)
		.withPropertyValues("tis.resilience.services.profile.url=" + server.baseUrl() + "/profile",
				"tis.resilience.services.profile.response-timeout=2s",
				"tis.resilience.services.profile.retry.max-attempts=1",
				"spring.http.serviceclient.profile.base-url=" + server.baseUrl() + "/profile",
				"profile.url=" + server.baseUrl() + "/profile");

	private static void profileHangs() {
		server.stubFor(get("/profile/api/userinfo").willReturn(ok("late").withFixedDelay(10_000)));
		server.stubFor(get("/profile/api/roles").willReturn(ok("late").withFixedDelay(10_000)));
		server.stubFor(get("/profile/api/me").willReturn(ok("late").withFixedDelay(10_000)));
	}

	@Test
	void answersAMonoWithItsFallbackOnTheFailureSignal() {
		profileHangs();
		this.runner.run((context) -> assertThat(context.getBean(ProfileService.class).userinfo("ada").block(Duration.ofSeconds(5)))
			.isEqualTo("unavailable ada: TIMEOUT"));
	}

	@Test
	void answersAFluxWithItsFallbackOnTheFailureSignal() {
		profileHangs();
		this.runner.run((context) -> assertThat(
				context.getBean(ProfileService.class).roles("ada").collectList().block(Duration.ofSeconds(5)))
			.containsExactly("no roles for ada"));
	}

	@Test
	void answersAWebClientHttpInterfaceWithItsFallbackBean() {
		profileHangs();
		this.runner.run((context) -> {
			assertThat(context.getBean(ProfileApiConsumer.class).api.userinfo().block(Duration.ofSeconds(5)))
				.isEqualTo("from the fallback bean");
			// Its own path: WireMock logs a request when it has answered it, so another test's held request
			// to the same path would be counted here ten seconds later.
			server.verify(1, getRequestedFor(urlPathEqualTo("/profile/api/me")));
		});
	}

	@Test
	void answersABodyThatDribblesPastTheDeadlineWithTheFallbackGivenTheGuardsException() {
		server.stubFor(get("/profile/api/userinfo").willReturn(ok("abcdefghijklmnop").withChunkedDribbleDelay(16, 8_000)));
		this.runner.run((context) -> assertThat(context.getBean(ProfileService.class).userinfo("ada").block(Duration.ofSeconds(6)))
			.isEqualTo("unavailable ada: TIMEOUT"));
	}

	@Test
	void answersAMonoWithItsFallbackWhenTheServiceAnswers503() {
		server.stubFor(get("/profile/api/status").willReturn(com.github.tomakehurst.wiremock.client.WireMock.serviceUnavailable()));
		this.runner.run((context) -> assertThat(context.getBean(ProfileService.class).status().block(Duration.ofSeconds(5)))
			.isEqualTo("status unknown: ServiceUnavailable"));
	}

	@Test
	void letsASuccessThrough() {
		server.stubFor(get("/profile/api/userinfo").willReturn(ok("me")));
		this.runner.run((context) -> assertThat(context.getBean(ProfileService.class).userinfo("ada").block(Duration.ofSeconds(5)))
			.isEqualTo("me"));
	}

	@Configuration(proxyBeanMethods = false)
	@Import({ ProfileService.class, ProfileApiFallback.class, ProfileApiConsumer.class })
	@ImportHttpServices(group = "profile", types = ProfileApi.class, clientType = HttpServiceGroup.ClientType.WEB_CLIENT)
	static class Clients {

		@Bean
		WebClient profileWebClient(WebClient.Builder builder, org.springframework.core.env.Environment environment) {
			return builder.baseUrl(environment.getRequiredProperty("profile.url")).build();
		}

	}

	static class ProfileService {

		private final WebClient profile;

		ProfileService(WebClient profileWebClient) {
			this.profile = profileWebClient;
		}

		@Fallback(method = "userinfoFallback")
		public Mono<String> userinfo(String user) {
			return this.profile.get().uri("/api/userinfo").retrieve().bodyToMono(String.class);
		}

		Mono<String> userinfoFallback(String user, ServiceUnavailableException ex) {
			return Mono.just("unavailable " + user + ": " + ex.reason());
		}

		@Fallback(method = "statusUnknown")
		public Mono<String> status() {
			return this.profile.get().uri("/api/status").retrieve().bodyToMono(String.class);
		}

		Mono<String> statusUnknown(Exception ex) {
			return Mono.just("status unknown: " + ex.getClass().getSimpleName());
		}

		@Fallback(method = "noRoles")
		public Flux<String> roles(String user) {
			return this.profile.get().uri("/api/roles").retrieve().bodyToFlux(String.class);
		}

		Flux<String> noRoles(String user) {
			return Flux.fromIterable(List.of("no roles for " + user));
		}

	}

	@Fallback(bean = ProfileApiFallback.class)
	interface ProfileApi {

		@GetExchange("/api/me")
		Mono<String> userinfo();

	}

	static class ProfileApiFallback implements ProfileApi {

		@Override
		public Mono<String> userinfo() {
			return Mono.just("from the fallback bean");
		}

	}

	static class ProfileApiConsumer {

		final ProfileApi api;

		ProfileApiConsumer(ProfileApi api) {
			this.api = api;
		}

	}

}
