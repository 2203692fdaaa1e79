package uk.nhs.hee.tis.examples.tcs;

import org.springframework.context.annotation.Configuration;
import org.springframework.web.servlet.config.annotation.InterceptorRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/** Every {@code /api/**} request loads the caller's permissions first; {@code /api/status} needs nothing. */
@Configuration(proxyBeanMethods = false)
class WebConfiguration implements WebMvcConfigurer {

	private final CallerPermissions callerPermissions;

	WebConfiguration(CallerPermissions callerPermissions) {
		this.callerPermissions = callerPermissions;
	}

	@Override
	public void addInterceptors(InterceptorRegistry registry) {
		registry.addInterceptor(this.callerPermissions).addPathPatterns("/api/**").excludePathPatterns("/api/status");
	}

}
